// Faults the driver API can inject into a sandbox session's connection (POST
// /v1/sandbox/sessions/{id}/faults); what each one does: src/sandbox/faults.ts, docs/protocol/faults.md.
// A leaf module, so the dashboard's fault picker lists the same kinds.
const KINDS = [
  "drop",
  "reset",
  "silence",
  "refuse_upgrade",
  "http_error",
  "stream_error",
  "logout",
  "ban",
  "replaced",
  "delay_acks",
  "refuse_acks",
  "normal_acks",
  "login_failure",
  "restart_loop",
  "blackhole",
  "stream_error_ack",
  "xml_not_well_formed",
  "stream_error_503",
  "xmlstreamend",
  "expire_media",
  "mediaretry_unanswered",
  "unacked_timeout",
  "lose_acks",
  "require_tctoken",
  "undecryptable",
] as const;
export type FaultKind = (typeof KINDS)[number];
// A plain array: the driver's schemas cast it to z.enum's tuple.
export const FAULT_KINDS: FaultKind[] = [...KINDS];
