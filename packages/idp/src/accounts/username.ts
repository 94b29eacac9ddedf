import { idpErrors } from '../errors.ts';

/**
 * The username rule, chosen so that two accounts can never look alike on screen:
 *
 * - The input is NFKC-normalized first (full-width `ａｌｉｃｅ`, ligatures and compatibility forms fold
 *   to their plain letters), and the uniqueness key is that form in lower case: `Alice` and `ALICE`
 *   are one account.
 * - 3 to 32 characters: letters, ASCII digits 0-9, and the separators `.` `_` `-` (not first, not last,
 *   never two in a row). No spaces, symbols, combining marks, invisible characters or non-ASCII digits.
 * - All letters come from one script (Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew, Arabic,
 *   Devanagari, Bengali, Thai, Hangul, or Han with Hiragana/Katakana for Japanese and Han with Hangul
 *   for Korean). Mixed scripts — the classic `аlice` with a Cyrillic `а` — are refused.
 * - A Greek or Cyrillic name made only of letters that look like Latin ones (`асе`, `РОР`) is a
 *   whole-script look-alike of a Latin name and is refused too. Latin letters that mimic other Latin
 *   letters (dotless `ı`, IPA forms such as `ɑ` `ɡ`) are refused.
 *
 * This is a restrictive profile in the spirit of Unicode UTS #39 ("highly restrictive") and
 * RFC 8265 (PRECIS UsernameCaseMapped), written out by hand because neither is available as a
 * maintained JavaScript library; it refuses more than strictly needed, never less.
 */
export interface Username {
  /** NFKC form, case as typed: what is shown. */
  readonly display: string;
  /** Lower-case NFKC form: the lookup and uniqueness key. */
  readonly key: string;
}

const scripts = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Georgian',
  'Hebrew',
  'Arabic',
  'Devanagari',
  'Bengali',
  'Thai',
  'Hangul',
  'Han',
  'Hiragana',
  'Katakana',
] as const;
type Script = (typeof scripts)[number];

const scriptPatterns = new Map<Script, RegExp>(
  scripts.map((s) => [s, new RegExp(`^\\p{Script=${s}}$`, 'u')]),
);

/** Script sets that are one writing system in practice. */
const allowedMixes: ReadonlyArray<ReadonlySet<Script>> = [
  new Set<Script>(['Han', 'Hiragana', 'Katakana']),
  new Set<Script>(['Han', 'Hangul']),
];

/** Greek and Cyrillic letters (either case) that render like a Latin letter. */
const latinLookAlikes: Partial<Record<Script, string>> = {
  Cyrillic: 'АВЕКМНОРСТХІЈЅҮУЗаеорсухіјѕԁԛԝһӏүьвнкмтзЬ',
  Greek: 'ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαικνορτυχ',
};

/** Latin letters that are easily read as another Latin letter. */
const confusableLatin = /[\u0131\u0138\u017f\u0250-\u02af\u1d00-\u1dbf]/u;

const shape = /^[\p{L}0-9]+(?:[._-][\p{L}0-9]+)*$/u;
const letter = /^\p{L}$/u;
const modifierLetter = /\p{Lm}/u;

/** Normalize and check a username; throws IDP_USERNAME_INVALID with the reason. */
export function parseUsername(input: string): Username {
  const invalid = (why: string) =>
    idpErrors.create('IDP_USERNAME_INVALID', `Username is not allowed: ${why}`);
  if (input.length > 128) throw invalid('it is too long');
  const display = input.normalize('NFKC');
  const length = [...display].length;
  if (length < 3 || length > 32) throw invalid('it must have 3 to 32 characters');
  if (!shape.test(display)) {
    throw invalid('use letters, digits 0-9 and single . _ - between them');
  }
  if (modifierLetter.test(display) || confusableLatin.test(display)) {
    throw invalid('it contains a letter that looks like another one');
  }
  const used = new Set<Script>();
  for (const ch of display) {
    if (!letter.test(ch)) continue;
    const script = scripts.find((s) => scriptPatterns.get(s)!.test(ch));
    if (!script) throw invalid('it contains letters of an unsupported script');
    used.add(script);
  }
  if (used.size > 1 && !allowedMixes.some((mix) => [...used].every((s) => mix.has(s)))) {
    throw invalid('it mixes letters of different scripts');
  }
  for (const script of used) {
    const lookAlikes = latinLookAlikes[script];
    if (!lookAlikes) continue;
    const letters = [...display].filter((ch) => letter.test(ch));
    if (letters.every((ch) => lookAlikes.includes(ch))) {
      throw invalid(`it can be mistaken for a Latin name written in ${script} letters`);
    }
  }
  return { display, key: usernameKey(display) };
}

/** The lookup key of a username, valid or not: what brute-force counters and lookups use. */
export function usernameKey(input: string): string {
  return input.normalize('NFKC').toLowerCase().normalize('NFKC');
}
