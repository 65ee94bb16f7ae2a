import { registerAccountRoutes } from "./account.routes";
import { registerAdminRoutes } from "./admin.routes";
import { registerDocsRoutes } from "./docs.routes";
import { registerKeyRoutes } from "./keys.routes";
import { Api } from "./route";

// Every resource registers its routes here; order does not matter (paths are distinct).
export const api = new Api();
registerDocsRoutes(api);
registerAdminRoutes(api);
registerAccountRoutes(api);
registerKeyRoutes(api);
