import { RE2JS, RE2Set } from "re2js";

// Regex keyword rules: JavaScript-style patterns run by RE2 (linear time whatever the pattern).
// A bot's rules are compiled into one RE2Set with a small DFA budget: one pass per message, and
// memory bounded per bot instead of an 8 MB DFA cache per cached pattern.

export const MAX_PATTERN_LENGTH = 200;
/** Regex rules per bot: each adds to the one program every incoming message runs through. */
export const MAX_REGEX_RULES = 20;
const MAX_MATCH_INPUT = 1000;
// RE2's rough cost measure: `^order\s+\d+$` is 13; `[\p{L}\d]{300}x` is 303 (about 35 ms on 1,000 characters).
const MAX_PROGRAM_SIZE = 300;
// The set's DFA cache; past it RE2 clears the cache or falls back to its (linear) NFA.
const SET_MAX_MEM = 256 * 1024;

// What JavaScript's \s matches (WhiteSpace and LineTerminator); RE2's \s is ASCII only.
const JS_SPACE = "\\x{9}-\\x{D}\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}";
const ANY = "\\x{0}-\\x{10FFFF}";

class TranslationError extends Error {}

/** A `\uXXXX` or `\u{X}` escape at `i` (the backslash): its code point and length, or null. */
function unicodeEscape(p: string, i: number): { cp: number; length: number } | null {
  const m = /^\\u(?:\{([0-9A-Fa-f]{1,6})\}|([0-9A-Fa-f]{4}))/.exec(p.slice(i, i + 10));
  return m ? { cp: parseInt(m[1] ?? m[2], 16), length: m[0].length } : null;
}

/**
 * The pattern in RE2 syntax, matching what it matches in JavaScript: `\uD83D\uDE00` pairs become
 * one code point, `\s`/`\S` take JavaScript's Unicode spaces, `[` inside a class is literal,
 * `[]`/`[^]` mean nothing/anything. Throws TranslationError for what has no RE2 equivalent.
 */
export function toRe2Syntax(p: string): string {
  let out = "";
  // Inside a class: its body so far, whether negated, whether it holds \S.
  let cls: { body: string; negated: boolean; notSpace: boolean } | null = null;
  const emit = (s: string) => (cls ? (cls.body += s) : (out += s));
  for (let i = 0; i < p.length; i++) {
    const ch = p[i];
    if (ch === "\\" && i + 1 < p.length) {
      const next = p[i + 1];
      const u = next === "u" ? unicodeEscape(p, i) : null;
      if (u) {
        let cp = u.cp;
        i += u.length - 1;
        const low = cp >= 0xd800 && cp <= 0xdbff ? unicodeEscape(p, i + 1) : null;
        if (low && low.cp >= 0xdc00 && low.cp <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low.cp - 0xdc00);
          i += low.length;
        }
        emit(`\\x{${cp.toString(16).toUpperCase()}}`);
      } else if (next === "s") {
        emit(cls ? JS_SPACE : `[${JS_SPACE}]`);
        i++;
      } else if (next === "S") {
        if (cls) cls.notSpace = true;
        else out += `[^${JS_SPACE}]`;
        i++;
      } else {
        emit(ch + next);
        i++;
      }
    } else if (ch === "[" && !cls) {
      const negated = p[i + 1] === "^";
      if (negated) i++;
      if (p[i + 1] === "]") {
        out += negated ? `[${ANY}]` : `[^${ANY}]`;
        i++;
      } else cls = { body: "", negated, notSpace: false };
    } else if (ch === "[" && cls) {
      cls.body += "\\[";
    } else if (ch === "]" && cls) {
      const { body, negated, notSpace } = cls;
      cls = null;
      if (!notSpace) out += `[${negated ? "^" : ""}${body}]`;
      else if (negated) {
        if (body) throw new TranslationError("\\S inside a negated class ([^…\\S]) is not supported: write the whitespace you mean.");
        out += `[${JS_SPACE}]`;
      } else out += body ? `(?:[${body}]|[^${JS_SPACE}])` : `[^${JS_SPACE}]`;
    } else emit(ch);
  }
  // An unclosed class: RE2 reports it.
  if (cls) out += `[${cls.negated ? "^" : ""}${cls.body}`;
  return out;
}

const BACKREFERENCE = /invalid escape sequence: `\\[1-9k]/;
const LOOKAROUND = /unsupported Perl syntax: `\(\?[=!]|invalid named capture: `\(\?<[=!]/;

/** Why a pattern cannot be a regex rule, or null when it can. */
export function regexRuleProblem(pattern: string, caseSensitive: boolean): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `At most ${MAX_PATTERN_LENGTH} characters.`;
  let re: RE2JS;
  try {
    // Compiled alone to check it; the DFA (the memory) is only built by matching, which happens in the set.
    re = RE2JS.compile(toRe2Syntax(pattern), caseSensitive ? 0 : RE2JS.CASE_INSENSITIVE);
  } catch (err) {
    if (err instanceof TranslationError) return err.message;
    const reason = (err as Error).message;
    if (BACKREFERENCE.test(reason)) return "Backreferences (\\1, \\k<name>) are not supported: RE2 matches in linear time and has none.";
    if (LOOKAROUND.test(reason)) return "Lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported: RE2 matches in linear time and has none.";
    // RE2 reports the pattern with the flag it prepended; show the user's own.
    return `Not a valid RE2 regular expression: ${reason.replace("`(?i)", "`")}`;
  }
  if (re.programSize() > MAX_PROGRAM_SIZE) return `Too complex (size ${re.programSize()}, at most ${MAX_PROGRAM_SIZE}): use smaller repetition counts.`;
  return null;
}

export interface RegexRule {
  pattern: string;
  case_sensitive: boolean;
}

/** Which of `rules` match a text: the indexes, found in one pass. Rules that cannot compile never match. */
export type RegexMatcher = (text: string) => ReadonlySet<number>;

export function compileRegexRules(rules: readonly RegexRule[]): RegexMatcher {
  const set = new RE2Set(RE2Set.UNANCHORED, 0, SET_MAX_MEM);
  // Set id → index in `rules`.
  const ruleOf: number[] = [];
  rules.forEach((rule, index) => {
    if (ruleOf.length >= MAX_REGEX_RULES || regexRuleProblem(rule.pattern, rule.case_sensitive)) return;
    set.add(`${rule.case_sensitive ? "" : "(?i)"}${toRe2Syntax(rule.pattern)}`);
    ruleOf.push(index);
  });
  if (!ruleOf.length) return () => new Set();
  set.compile();
  return (text) => new Set(set.match(text.slice(0, MAX_MATCH_INPUT)).map((id) => ruleOf[id]));
}
