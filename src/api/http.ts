// The success envelope: {"success": true, ...fields} (docs/compatibility.md).
export function ok(fields: Record<string, unknown>, status = 200, headers?: HeadersInit): Response {
  return Response.json({ success: true, ...fields }, { status, headers });
}
