import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

/** A polite live region: screen readers hear each outcome of an action. */
export function StatusLine({ text }: { text: string }) {
  const failed = /failed|error/i.test(text);
  return (
    <p class={failed ? "status status-error" : "status"} role="status" aria-live="polite">
      {text}
    </p>
  );
}

export function ErrorLine({ text }: { text?: string }) {
  return text ? (
    <p class="status status-error" role="alert">
      {text}
    </p>
  ) : null;
}

/** Session and message states as a labelled badge (colour is never the only cue). */
export function Badge({ value }: { value: string | null | undefined }) {
  const v = value ?? "unknown";
  return <span class={`badge badge-${v.replace(/[^a-z_]/g, "")}`}>{v}</span>;
}

export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span class="muted">—</span>;
  const date = new Date(value);
  return <time dateTime={value} title={value}>{date.toLocaleString()}</time>;
}

/** Copies to the clipboard and says so in a live region, or that it failed (select the text then). */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [outcome, setOutcome] = useState("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setOutcome("Copied to the clipboard.");
    } catch {
      setOutcome("Copy failed: select the text and copy it by hand.");
    }
  };
  return (
    <>
      <button type="button" onClick={copy}>{label}</button>{" "}
      <span class={outcome.startsWith("Copy failed") ? "status-error" : "muted"} role="status" aria-live="polite">{outcome}</span>
    </>
  );
}

/** A secret shown once (API key, webhook secret): selectable, copyable, never stored. */
export function SecretOnce({ label, value, children }: { label: string; value: string; children?: ComponentChildren }) {
  return (
    <div class="secret" role="region" aria-label={label}>
      <p>
        <strong>{label}</strong> — shown once, store it now.
      </p>
      <code class="secret-value">{value}</code> <CopyButton text={value} label={`Copy ${label.toLowerCase()}`} />
      {children}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted">{children}</p>;
}
