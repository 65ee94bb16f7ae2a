// Types for scripts/deploy-plan.mjs (plain JS so `node scripts/deploy.mjs` runs on any Node).

export interface Resources {
  worker: string;
  database: { binding: string; name: string };
  queues: string[];
}
export interface AccountState {
  databaseExists: boolean;
  queues: string[];
  secrets: string[];
}
export interface Step {
  command: string[];
  why: string;
  local?: boolean;
}

export const SECRETS_FILE: string;
export const ADMIN_SECRET: string;
export const FRESH_ACCOUNT: AccountState;
export function resourcesOf(config: unknown): Resources;
export function probes(resources: Resources): string[][];
export function planDeploy(
  resources: Resources,
  state: AccountState,
  options?: { adminTokenGiven?: boolean; canMakeToken?: boolean },
): { steps: Step[]; setAdminToken: boolean; adminTokenMissing: boolean };
export function parseDatabaseNames(output: string): string[];
export function queueExists(status: number, output: string): boolean;
export function parseSecretNames(status: number, output: string): string[];
export function deployedUrls(ndjson: string): string[];
export function firstAccountCommand(baseUrl: string): string;
export function shellLine(command: string[]): string;
