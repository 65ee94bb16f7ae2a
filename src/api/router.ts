import { registerAccountRoutes } from "./account.routes";
import { registerAdminRoutes } from "./admin.routes";
import { registerBotRoutes } from "./bot.routes";
import { registerCampaignRoutes } from "./campaigns.routes";
import { registerDocsRoutes } from "./docs.routes";
import { registerKeyRoutes } from "./keys.routes";
import { registerMessageRoutes } from "./messages.routes";
import { registerMediaRoutes } from "./media.routes";
import { registerSandboxRoutes } from "./sandbox.routes";
import { registerSessionRoutes } from "./sessions.routes";
import { registerWebhookRoutes } from "./webhooks.routes";
import { Api } from "./route";

// Every resource registers its routes here; order does not matter (paths are distinct).
export const api = new Api();
registerDocsRoutes(api);
registerAdminRoutes(api);
registerAccountRoutes(api);
registerKeyRoutes(api);
registerSessionRoutes(api);
registerBotRoutes(api);
registerSandboxRoutes(api);
registerWebhookRoutes(api);
registerMediaRoutes(api);
registerMessageRoutes(api);
registerCampaignRoutes(api);
