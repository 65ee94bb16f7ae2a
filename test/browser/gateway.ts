// Starts the gateway the way a user does (`npm run dev`) on a free port, for the browser tests.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface Gateway {
  baseUrl: string;
  adminToken: string;
  logFile: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// Reuse the saved admin token so a test run does not change what `npm run dev` prints later.
function adminToken(root: string): string {
  const file = join(root, ".wrangler", "dev-credentials.json");
  const saved = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { adminToken?: string }) : {};
  return saved.adminToken || randomBytes(24).toString("base64url");
}

// Rejects when the gateway exits, or when wrangler's first build fails (it then waits for edits).
function failed(child: ChildProcess, logFile: string): Promise<never> {
  return new Promise((_, reject) => {
    child.once("exit", (code, signal) => reject(new Error(`npm run dev exited (${code ?? signal}); see ${logFile}`)));
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on("data", (chunk: Buffer) => {
        if (/Build failed/.test(chunk.toString())) reject(new Error(`wrangler's build failed; see ${logFile}`));
      });
    }
  });
}

async function waitReady(baseUrl: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const gone = failed(child, logFile);
  gone.catch(() => {});
  while (Date.now() < deadline) {
    const answer = await Promise.race([
      fetch(`${baseUrl}/openapi.json`).then((r) => r.status, () => 0),
      gone,
    ]);
    if (answer === 200) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the gateway did not answer ${baseUrl}/openapi.json within ${timeoutMs / 1000} s`);
}

export async function startGateway(root: string, logFile: string): Promise<Gateway> {
  const port = await freePort();
  const token = adminToken(root);
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  const state = mkdtempSync(join(tmpdir(), "wa-browser-state-"));
  // Its own process group, so stop() ends npm, wrangler and workerd together and nothing else.
  const child = spawn("npm", ["run", "dev"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own state folder: an empty database, and no clash with a developer's `npm run dev`.
    env: { ...process.env, PORT: String(port), ADMIN_TOKEN: token, DEV_PERSIST_TO: state },
  });
  // If the runner dies without its teardown, the gateway goes with it.
  const orphanGuard = () => process.kill(-child.pid!, "SIGKILL");
  process.once("exit", orphanGuard);
  child.once("exit", () => process.off("exit", orphanGuard));
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const baseUrl = `http://localhost:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const done = new Promise((r) => child.once("exit", r));
      process.kill(-child.pid!, "SIGTERM");
      const killed = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 10_000);
      await done;
      clearTimeout(killed);
    }
    rmSync(state, { recursive: true, force: true });
  };
  try {
    // The first run builds the dashboard and applies migrations before wrangler starts.
    await waitReady(baseUrl, child, logFile, 240_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl, adminToken: token, logFile, stop };
}
