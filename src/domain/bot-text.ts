// Bot message templates: `{Hi|Hello}` spintax and `[name]`-style placeholders. Parsed once,
// in linear time, into a tree; a placeholder's value (a contact's push name) is inserted at
// render time and never re-read as a template. `\{ \| \} \[ \] \\` stay literal.

export type Random = () => number;

type Node = string | { placeholder: string } | { choice: Node[][] };

interface Group {
  options: Node[][];
}

// Braces nested deeper than this are literal: templates are user input.
const MAX_DEPTH = 8;
const ESCAPABLE = "{}|[]\\";

function parse(template: string): Node[] {
  const root: Node[] = [];
  const stack: Group[] = [];
  const current = (): Node[] => (stack.length ? stack[stack.length - 1].options.at(-1)! : root);
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if (ch === "\\" && i + 1 < template.length && ESCAPABLE.includes(template[i + 1])) {
      current().push(template[++i]);
    } else if (ch === "{" && stack.length < MAX_DEPTH) {
      stack.push({ options: [[]] });
    } else if (ch === "|" && stack.length) {
      stack[stack.length - 1].options.push([]);
    } else if (ch === "}" && stack.length) {
      const group = stack.pop()!;
      // `{word}` (one option) is not a choice: it stays as written.
      if (group.options.length > 1) current().push({ choice: group.options });
      else current().push("{", ...group.options[0], "}");
    } else if (ch === "[") {
      const key = /^\[([a-z_]{1,20})\]/.exec(template.slice(i, i + 23))?.[1];
      if (key) {
        current().push({ placeholder: key });
        i += key.length + 1;
      } else current().push(ch);
    } else {
      current().push(ch);
    }
  }
  // Unclosed braces stay as written.
  while (stack.length) {
    const group = stack.pop()!;
    current().push("{", ...group.options.flatMap((o, n) => (n ? ["|", ...o] : o)));
  }
  return root;
}

function render(nodes: Node[], vars: ReadonlyMap<string, string>, random: Random): string {
  let out = "";
  for (const node of nodes) {
    if (typeof node === "string") out += node;
    else if ("placeholder" in node) out += vars.get(node.placeholder) ?? `[${node.placeholder}]`;
    else {
      const pick = Math.min(node.choice.length - 1, Math.max(0, Math.floor(random() * node.choice.length)));
      out += render(node.choice[pick], vars, random);
    }
  }
  return out;
}

/**
 * `{a|b|c}` choices (nestable) and `[key]` placeholders found in `vars`; an unknown `[x]` stays
 * as written. Keys are looked up in a Map: `[__proto__]` or `[constructor]` never reach an object.
 */
export function renderTemplate(template: string, vars: ReadonlyMap<string, string>, random: Random): string {
  return render(parse(template), vars, random);
}

/** Spintax only: each `{a|b}` becomes one of its options; placeholders are left as written. */
export function spin(text: string, random: Random): string {
  return renderTemplate(text, new Map(), random);
}
