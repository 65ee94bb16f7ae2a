import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { storedKey } from "../lib/auth";
import { useAction, usePoll } from "../lib/hooks";
import { Badge, ErrorLine, SecretOnce, StatusLine, Time } from "../ui/status";
import { Table } from "../ui/table";

export function KeysPage() {
  const list = usePoll((signal) => api("GET", "/v1/keys", { signal }).then((a) => a.api_keys as any[]), []);
  const [name, setName] = useState("");
  const [secret, setSecret] = useState<string>();
  const [status, creating, create] = useAction();
  const [confirm, setConfirm] = useState<string>();
  const [revokeStatus, busy, run] = useAction();
  const mine = storedKey()?.slice(0, 12);

  const submit = (e: Event) => {
    e.preventDefault();
    setSecret(undefined);
    void create("Create key", async () => {
      const answer = await api("POST", "/v1/keys", { body: name.trim() ? { name: name.trim() } : {} });
      setSecret(answer.api_key.key);
      setName("");
      void list.reload();
      return `Key ${answer.api_key.name} created.`;
    });
  };

  const revoke = (k: any) =>
    run(`Revoke ${k.name}`, () => api("DELETE", `/v1/keys/${k.id}`)).then(() => {
      setConfirm(undefined);
      void list.reload();
    });

  const actions = (k: any) =>
    k.revoked_at ? null : confirm === k.id ? (
      <>
        <button type="button" class="danger" disabled={busy} onClick={() => revoke(k)}>
          Confirm revoke {k.name}
        </button>{" "}
        <button type="button" class="secondary" onClick={() => setConfirm(undefined)}>Cancel</button>
      </>
    ) : (
      <button type="button" class="danger" onClick={() => setConfirm(k.id)} aria-label={`Revoke ${k.name}`}>Revoke</button>
    );

  return (
    <>
      <h1 tabIndex={-1}>API keys</h1>
      <form class="card inline-form" onSubmit={submit}>
        <h2>New key</h2>
        <label>
          Key name
          <input maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="production" />
        </label>
        <button type="submit" disabled={creating}>Create key</button>
        <StatusLine text={status} />
        {secret && <SecretOnce label="API key" value={secret} />}
      </form>
      <section aria-labelledby="keys-list">
        <h2 id="keys-list">Keys</h2>
        <ErrorLine text={list.error} />
        <StatusLine text={revokeStatus} />
        <Table
          rows={list.data ?? []}
          rowKey={(k) => k.id}
          columns={[
            { header: "Name", cell: (k) => <>{k.name}{k.prefix === mine && <span class="muted"> (this tab)</span>}</> },
            { header: "Prefix", cell: (k) => <code>{k.prefix}…</code> },
            { header: "State", cell: (k) => <Badge value={k.revoked_at ? "revoked" : "active"} /> },
            { header: "Last used", cell: (k) => <Time value={k.last_used_at} /> },
            { header: "Created", cell: (k) => <Time value={k.created_at} /> },
            { header: <span class="sr-only">Actions</span>, cell: actions },
          ]}
        />
      </section>
    </>
  );
}
