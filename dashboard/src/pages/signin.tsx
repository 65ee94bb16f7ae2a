import { useState } from "preact/hooks";
import { api } from "../lib/api";
import { storeKey } from "../lib/auth";
import { PLAN_NAMES } from "../lib/domain";
import { useAction } from "../lib/hooks";
import { SecretOnce, StatusLine } from "../ui/status";

/** Sign in with an API key; or, with the admin token, create an account and its first key. */
export function SignInPage({ notice, onSignedIn }: { notice: string; onSignedIn: () => void }) {
  const [key, setKey] = useState("");
  const [status, busy, run] = useAction();

  const signIn = (e: Event) => {
    e.preventDefault();
    void run("Sign in", async () => {
      // Checked before it is kept: a wrong key never reaches session storage.
      await api("GET", "/v1/account", { token: key.trim() });
      storeKey(key.trim());
      onSignedIn();
    });
  };

  return (
    <main id="main" class="signin">
      <h1 tabIndex={-1}>WhatsApp Gateway</h1>
      <form onSubmit={signIn} class="card">
        <h2>Sign in</h2>
        <label>
          API key
          <input type="password" name="api-key" autoComplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} placeholder="wag_…" />
        </label>
        <p class="muted">Kept in this tab only (session storage). <code>npm run dev</code> prints the development key.</p>
        <button type="submit" disabled={busy}>Sign in</button>
        <StatusLine text={status || notice} />
      </form>
      <CreateAccount onKey={(k) => { storeKey(k); onSignedIn(); }} />
    </main>
  );
}

function CreateAccount({ onKey }: { onKey: (key: string) => void }) {
  const [token, setToken] = useState("");
  const [name, setName] = useState("");
  const [plan, setPlan] = useState("free");
  const [balance, setBalance] = useState("");
  const [cost, setCost] = useState("");
  const [status, busy, run] = useAction();
  const [created, setCreated] = useState<{ account: any; key: string }>();

  const create = (e: Event) => {
    e.preventDefault();
    void run("Create account", async () => {
      const body: Record<string, unknown> = { name, plan };
      if (balance !== "") body.balance = Number(balance);
      if (cost !== "") body.message_cost = Number(cost);
      // The admin token is used for this call only and never stored.
      const answer = await api("POST", "/v1/admin/accounts", { token: token.trim(), body });
      setCreated({ account: answer.account, key: answer.api_key.key });
      return `Account ${answer.account.name} created.`;
    });
  };

  return (
    <form onSubmit={create} class="card">
      <h2>Create an account (admin)</h2>
      <label>
        Admin token
        <input type="password" autoComplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
      </label>
      <label>
        Account name
        <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Plan
        <select value={plan} onChange={(e) => setPlan(e.currentTarget.value)}>
          {PLAN_NAMES.map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
      </label>
      <label>
        Starting balance
        <input type="number" min={0} value={balance} onInput={(e) => setBalance(e.currentTarget.value)} />
      </label>
      <label>
        Cost per message
        <input type="number" min={0} step="any" value={cost} onInput={(e) => setCost(e.currentTarget.value)} placeholder="deployment default" />
      </label>
      <button type="submit" disabled={busy}>Create account</button>
      <StatusLine text={status} />
      {created && (
        <SecretOnce label="API key" value={created.key}>
          <p>
            <button type="button" onClick={() => onKey(created.key)}>
              Continue with this key
            </button>
          </p>
        </SecretOnce>
      )}
    </form>
  );
}
