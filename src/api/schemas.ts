import { z } from "zod";
import { isForbiddenKey } from "../domain/safe-input";

// Shared response pieces, registered once in the OpenAPI document.
export const ErrorEnvelope = z
  .object({
    success: z.literal(false),
    error: z.object({
      code: z.string().meta({ example: "validation_failed" }),
      message: z.string(),
      details: z.union([
        z.array(
          z.object({
            field: z.string().optional(),
            in: z.enum(["body", "query", "path", "header"]).optional(),
            code: z.string().optional(),
            message: z.string(),
          }),
        ),
        z.record(z.string(), z.unknown()),
      ]),
    }),
  })
  .meta({ id: "Error" });

export const Timestamp = z.string().meta({ example: "2024-01-15T10:30:00.000000Z", format: "date-time" });
export const Uuid = z.uuid();
export const IdParams = z.object({ id: z.uuid().meta({ description: "The ID (uuid)." }) });

/** An integer query parameter: decimal digits only (`0x10`, `1e2`, ` 5` are refused, unlike z.coerce). */
export const queryInt = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, "Decimal digits only.")
    .pipe(z.coerce.number<string>().int().min(min).max(max))
    .default(fallback)
    .meta({ type: "integer", minimum: min, maximum: max, default: fallback });

/** ISO 8601 date-time with an offset whose UTC instant lies in years 0000-9999 (storable as a timestamp). */
export const IsoDateTime = z.iso.datetime({ offset: true }).refine((value) => {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return false;
  const year = new Date(ms).getUTCFullYear();
  return year >= 0 && year <= 9999;
}, "Must fall within years 0000-9999 once converted to UTC.");

/** A user-chosen record key: never one that would reach an object's prototype when assigned. */
export const SafeKey = z.string().refine((key) => !isForbiddenKey(key), "__proto__, constructor and prototype are not allowed as keys.");

/** Names, subjects, file names: one line (the body reader already refuses other control characters). */
export { singleLine } from "../domain/safe-input";
