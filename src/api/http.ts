// Success envelope of seed 000: {"success": true, ...fields}.
export function ok(fields: Record<string, unknown>, status = 200, headers?: HeadersInit): Response {
  return Response.json({ success: true, ...fields }, { status, headers });
}
