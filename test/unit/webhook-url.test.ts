import { describe, expect, it } from "vitest";
import { checkWebhookUrl, isPrivateHost, privateHostsAllowed } from "../../src/domain/webhook-url";

const strict = { allowPrivate: false };
const local = { allowPrivate: true };

describe("webhook URLs", () => {
  it("accepts public http and https URLs", () => {
    expect(checkWebhookUrl("https://example.com/hooks?x=1", strict)).toEqual({ ok: true, url: "https://example.com/hooks?x=1" });
    expect(checkWebhookUrl("http://hooks.example.org:8080/a", strict).ok).toBe(true);
  });

  it("refuses other schemes, garbage and credentials", () => {
    for (const url of ["ftp://example.com/x", "javascript:alert(1)", "file:///etc/passwd", "not a url", "//example.com"]) {
      expect(checkWebhookUrl(url, local).ok, url).toBe(false);
    }
    const creds = checkWebhookUrl("https://user:pass@example.com/x", local);
    expect(creds.ok).toBe(false);
    if (!creds.ok) expect(creds.message).toMatch(/Credentials/);
    expect(checkWebhookUrl("https://user@example.com/x", local).ok).toBe(false);
  });

  it("refuses loopback, private and internal hosts unless allowed", () => {
    const hosts = [
      "http://localhost:3000/x",
      "http://127.0.0.1/x",
      "http://10.1.2.3/x",
      "http://172.20.0.1/x",
      "http://192.168.1.1/x",
      "http://169.254.169.254/latest/meta-data",
      "http://0.0.0.0/x",
      "http://[::1]/x",
      "http://[fd00::1]/x",
      "http://[::ffff:127.0.0.1]/x",
      "http://printer.local/x",
      "http://intranet/x",
      "http://2130706433/x", // 127.0.0.1 as one number; the URL parser rewrites it
    ];
    for (const url of hosts) {
      expect(checkWebhookUrl(url, strict).ok, url).toBe(false);
      expect(checkWebhookUrl(url, local).ok, url).toBe(true);
    }
    expect(isPrivateHost("8.8.8.8")).toBe(false);
    expect(isPrivateHost("172.32.0.1")).toBe(false);
  });

  it("reads the deployment switch", () => {
    expect(privateHostsAllowed({ ALLOW_PRIVATE_WEBHOOK_HOSTS: "on" })).toBe(true);
    expect(privateHostsAllowed({ ALLOW_PRIVATE_WEBHOOK_HOSTS: "off" })).toBe(false);
    expect(privateHostsAllowed({})).toBe(false);
  });
});
