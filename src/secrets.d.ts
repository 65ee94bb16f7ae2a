// Secrets are not in wrangler.toml, so `wrangler types` cannot see them.
interface Env {
  /** Bearer token for /v1/admin/* (`wrangler secret put ADMIN_TOKEN`). */
  ADMIN_TOKEN?: string;
}
declare namespace Cloudflare {
  interface Env {
    ADMIN_TOKEN?: string;
  }
}
