import { api } from "../lib/api";
import { usePoll } from "../lib/hooks";
import { ErrorLine } from "../ui/status";

export function AccountPage() {
  const account = usePoll((signal) => api("GET", "/v1/account", { signal }).then((a) => a.account), [], { intervalMs: 10000 });
  const a = account.data;
  const daily = a?.limits.daily_messages;
  return (
    <>
      <h1 tabIndex={-1}>Account</h1>
      <ErrorLine text={account.error} />
      {a && (
        <div class="cards">
          <section class="card stat" aria-labelledby="balance-h">
            <h2 id="balance-h">Balance</h2>
            <p class="big">{a.balance}</p>
            <p class="muted">{a.message_cost} per message</p>
          </section>
          <section class="card stat" aria-labelledby="remaining-h">
            <h2 id="remaining-h">Remaining messages</h2>
            <p class="big">{a.remaining_messages}</p>
          </section>
          <section class="card stat" aria-labelledby="usage-h">
            <h2 id="usage-h">Today's usage</h2>
            <label>
              {a.usage.messages} of {daily ?? "unlimited"} messages ({a.usage.day})
              {daily != null && <progress max={daily} value={Math.min(a.usage.messages, daily)} />}
            </label>
            <p>
              {a.usage.sessions} of {a.limits.max_sessions ?? "unlimited"} sessions
            </p>
          </section>
          <section class="card stat" aria-labelledby="plan-h">
            <h2 id="plan-h">Plan</h2>
            <p class="big">{a.plan}</p>
            <p class="muted">{a.name}</p>
          </section>
        </div>
      )}
    </>
  );
}
