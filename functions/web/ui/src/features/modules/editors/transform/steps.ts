// Transform steps as the editor changes them: the functions offered (with their own
// parameters' defaults), starter steps for a new template, and list moves. Validate's
// `fix` uses the same steps.
import type { components } from "../../../../api/schema";

export type Step = components["schemas"]["Step"];
export type StepFn = Step["fn"];
export type PhoneFormat = components["schemas"]["PhoneFormat"];
export type CharClass = components["schemas"]["CharClass"];
export type TransformConfig = components["schemas"]["TransformConfig"];

export const FUNCTIONS: { fn: StepFn; label: string; hint: string }[] = [
  { fn: "trim", label: "Trim whitespace", hint: "Removes spaces around the value (and doubled spaces inside)." },
  { fn: "title_case", label: "Name case (Title Case)", hint: "JOHN mcdonald → John McDonald" },
  { fn: "upper", label: "UPPERCASE", hint: "straße → STRASSE" },
  { fn: "lower", label: "lowercase", hint: "ÉMILE → émile" },
  { fn: "phone", label: "Format phone number", hint: "(650) 253-0000 → +16502530000" },
  { fn: "email", label: "Clean email address", hint: " Bob@Example.COM → bob@example.com" },
  { fn: "country", label: "Standardize country", hint: "U.S.A. → US" },
  { fn: "state", label: "Standardize state / province", hint: "Calif. → CA (US states and Canadian provinces)" },
  { fn: "split_name", label: "Split full name", hint: "Dr. Maria de la Cruz → Maria / de la Cruz" },
  { fn: "join", label: "Join fields", hint: "Writes the filled values of several fields, joined, into this field." },
  { fn: "copy", label: "Copy from another field", hint: "An empty source leaves this field as it is." },
  { fn: "replace", label: "Find and replace (regex)", hint: "(\\d{3})(\\d{4}) with $1-$2: 5551234 → 555-1234" },
  { fn: "remove", label: "Remove characters", hint: "Removes listed characters and/or classes of characters." },
  { fn: "date", label: "Reformat date", hint: "March 5, 2024 → 2024-03-05" },
  { fn: "default", label: "Fill when empty", hint: "Sets a value when the field is empty." },
  { fn: "domain", label: "Reduce to web domain", hint: "https://www.Acme.com/about → acme.com" },
];

export function functionLabel(fn: StepFn): string {
  return FUNCTIONS.find((f) => f.fn === fn)?.label ?? fn;
}

/** What the step's `field` means for its function. */
export function fieldRole(fn: StepFn): string {
  if (fn === "split_name") return "Full name field (read)";
  if (fn === "join" || fn === "copy") return "Write into";
  return "Field";
}

/** The step after the person picks another function: the field stays, the new function's required parameters get defaults. */
export function changeFunction(step: Step, fn: StepFn, region = "US"): Step {
  const field = step.field;
  switch (fn) {
    case "phone":
      return { field, fn, format: "e164", default_region: region };
    case "country":
      return { field, fn, to: "alpha2" };
    case "state":
      return { field, fn, to: "code" };
    case "split_name":
      return { field, fn, first: "", last: "" };
    case "join":
      return { field, fn, from: [], separator: " " };
    case "copy":
      return { field, fn, from: "" };
    case "replace":
      return { field, fn, pattern: "", with: "" };
    case "remove":
      return { field, fn, chars: "" };
    case "date":
      return { field, fn, to: "%Y-%m-%d" };
    case "default":
      return { field, fn, value: "" };
    default:
      return { field, fn } as Step;
  }
}

/**
 * The step with one parameter changed; `undefined` removes an optional parameter (the
 * API then uses its default).
 */
export function setParam<T extends object>(item: T, key: string, value: unknown): T {
  const next = { ...item } as Record<string, unknown>;
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next as T;
}

/** The item's value of `key` (typed by the caller). */
export function param<T>(item: object, key: string): T | undefined {
  return (item as Record<string, unknown>)[key] as T | undefined;
}

/** `list` with the item at `from` moved to `to`. */
export function moveItem<T>(list: readonly T[], from: number, to: number): T[] {
  if (to < 0 || to >= list.length || from === to) return [...list];
  const next = [...list];
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item as T);
  return next;
}

const KNOWN_FIELDS: Record<string, Record<string, string>> = {
  contacts: { firstname: "firstname", lastname: "lastname", email: "email", phone: "phone", country: "country" },
  Contact: { firstname: "FirstName", lastname: "LastName", email: "Email", phone: "Phone", country: "MailingCountry" },
  Lead: { firstname: "FirstName", lastname: "LastName", email: "Email", phone: "Phone", country: "Country" },
};

/** A contact field's API name on `object` (`firstname` on HubSpot, `FirstName` on Salesforce), or "". */
export function knownField(object: string, what: "firstname" | "lastname" | "email" | "phone" | "country"): string {
  return KNOWN_FIELDS[object]?.[what] ?? "";
}

/** A new template's steps: clean up first names, so a preview is two clicks away. */
export function starterSteps(object: string): Step[] {
  const first = knownField(object, "firstname");
  return [
    { field: first, fn: "trim" },
    { field: first, fn: "title_case" },
  ];
}

export function emptyTransform(object: string): TransformConfig {
  return { object, steps: starterSteps(object) };
}

/** A new step added at the end: the same field as the last step, trimmed. */
export function nextStep(steps: readonly Step[]): Step {
  return { field: steps[steps.length - 1]?.field ?? "", fn: "trim" };
}

/** The region of the person's locale (`en-GB` → `GB`), for phone numbers without a country code. */
export function localeRegion(locale = typeof navigator === "undefined" ? "en-US" : navigator.language): string {
  try {
    return new Intl.Locale(locale).maximize().region ?? "US";
  } catch {
    return "US";
  }
}

export const PHONE_FORMATS: { value: PhoneFormat; label: string }[] = [
  { value: "e164", label: "E.164: +16502530000" },
  { value: "international", label: "International: +1 650-253-0000" },
  { value: "national", label: "National: (650) 253-0000" },
];

export const CHAR_CLASSES: { value: CharClass; label: string }[] = [
  { value: "whitespace", label: "Whitespace" },
  { value: "digits", label: "Digits" },
  { value: "letters", label: "Letters" },
  { value: "punctuation", label: "Punctuation" },
  { value: "symbols", label: "Symbols (currency, emoji)" },
  { value: "non_printable", label: "Invisible characters" },
  { value: "non_ascii", label: "Non-ASCII characters" },
];

export const DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%-d %B %Y", "%B %-d, %Y", "%Y-%m-%dT%H:%M:%S%:z"];

// ISO 3166-1 alpha-2 regions libphonenumber knows (names come from Intl.DisplayNames).
const REGION_CODES =
  "AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW".split(
    " ",
  );

/** Regions for a phone picker: `{value: "GB", label: "United Kingdom (GB)"}`, by name. */
export function regionOptions(locale?: string): { value: string; label: string }[] {
  let names: Intl.DisplayNames | undefined;
  try {
    names = new Intl.DisplayNames(locale ? [locale] : undefined, { type: "region" });
  } catch {
    names = undefined;
  }
  return REGION_CODES.map((code) => ({ value: code, label: `${names?.of(code) ?? code} (${code})` })).sort((a, b) => a.label.localeCompare(b.label));
}

/** The keys a step's card has an input for, by function. */
const STEP_KEYS: Record<StepFn, string[]> = {
  trim: ["collapse"],
  upper: [],
  lower: [],
  title_case: ["particles", "mac"],
  phone: ["format", "default_region", "region_field"],
  email: [],
  country: ["to"],
  state: ["to", "country"],
  split_name: ["first", "last"],
  join: ["from", "separator"],
  copy: ["from"],
  replace: ["pattern", "with", "ignore_case"],
  remove: ["chars", "classes"],
  date: ["to", "from", "day_first"],
  default: ["value"],
  domain: [],
};

/** Whether the step list at `base` (`/config/steps`) shows the API's error at `pointer` beside an input. */
export function stepsClaim(steps: readonly Step[], base: string, pointer: string): boolean {
  if (pointer === base) return true;
  const m = new RegExp(`^${base}/(\\d+)(?:/([a-z_]+)(?:/\\d+)?)?$`).exec(pointer);
  const step = m ? steps[Number(m[1])] : undefined;
  if (!m || !step) return false;
  const key = m[2];
  return key === undefined || key === "field" || key === "fn" || (STEP_KEYS[step.fn]?.includes(key) ?? false);
}
