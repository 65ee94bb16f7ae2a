import { z } from "zod";

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
