// Substitute for `sharp` (native, cannot run in workerd). Baileys imports it optionally and
// falls back when the import fails.
throw new Error("sharp is not available in workerd");
export {};
