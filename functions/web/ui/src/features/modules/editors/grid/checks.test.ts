// The grid's client-side type checks say what the API says (grid::check_value) for the same
// values: the cases of grid.rs's `every_type_is_checked` and the documented ones.
import { describe, expect, it } from "vitest";
import { checkValue } from "./checks";

const f = (type: Parameters<typeof checkValue>[0]["type"], options: string[] = []) => ({ type, options });

describe("checkValue", () => {
  it("refuses what the API refuses, with the API's words", () => {
    const cases: [ReturnType<typeof f>, string, string][] = [
      [f("number"), "ten", 'expected a number, got "ten"'],
      [f("number"), "1,5", 'expected a number, got "1,5"'],
      [f("number"), "1.500,00", 'expected a number, got "1.500,00"'],
      [f("number"), "0x10", 'expected a number, got "0x10"'],
      [f("number"), "1e400", 'expected a number, got "1e400"'],
      [f("bool"), "yes", 'expected true or false, got "yes"'],
      [f("date"), "31/01/2024", 'expected a date (YYYY-MM-DD), got "31/01/2024"'],
      [f("date"), "2024-02-30", 'expected a date (YYYY-MM-DD), got "2024-02-30"'],
      [f("date"), "2023-02-29", 'expected a date (YYYY-MM-DD), got "2023-02-29"'],
      [f("date"), "2024-13-01", 'expected a date (YYYY-MM-DD), got "2024-13-01"'],
      [f("date_time"), "2024-01-31 10:00:00Z", 'expected a datetime (RFC 3339, such as 2024-01-31T09:00:00Z), got "2024-01-31 10:00:00Z"'],
      [f("date_time"), "2024-01-31T10:00:00", 'expected a datetime (RFC 3339, such as 2024-01-31T09:00:00Z), got "2024-01-31T10:00:00"'],
      [f("enumeration", ["lead", "customer"]), "Lead", 'expected one of lead, customer, got "Lead"'],
      [f("email"), "ann@", 'expected an email address (name@example.com), got "ann@"'],
      [f("email"), "ann smith@x.com", 'expected an email address (name@example.com), got "ann smith@x.com"'],
      [f("email"), "ann@x", 'expected an email address (name@example.com), got "ann@x"'],
      [f("email"), "a@b@x.com", 'expected an email address (name@example.com), got "a@b@x.com"'],
    ];
    for (const [field, value, message] of cases) expect(checkValue(field, value), `${field.type} ${value}`).toBe(message);
  });

  it("takes what the API takes", () => {
    const cases: [ReturnType<typeof f>, string][] = [
      [f("number"), "-2.5"],
      [f("number"), "1e3"],
      [f("number"), " 12000.00 "],
      [f("number"), ".5"],
      [f("bool"), "TRUE"],
      [f("bool"), "false"],
      [f("date"), "2024-02-29"],
      [f("date_time"), "2024-01-31T09:00:00Z"],
      [f("date_time"), "2024-01-31T10:00:00.250+01:00"],
      [f("enumeration", ["lead", "customer"]), "customer"],
      [f("enumeration"), "anything"],
      [f("email"), "ann@example.co.uk"],
      [f("text"), "1.500,00"],
      [f("phone"), "+1 (555) 010"],
    ];
    for (const [field, value] of cases) expect(checkValue(field, value), `${field.type} ${value}`).toBeUndefined();
  });

  it("lets any cell be cleared", () => {
    expect(checkValue(f("number"), "")).toBeUndefined();
    expect(checkValue(f("enumeration", ["lead"]), null)).toBeUndefined();
  });
});
