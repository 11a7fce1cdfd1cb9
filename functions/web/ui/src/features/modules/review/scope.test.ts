import { describe, expect, it } from "vitest";
import { parseIds } from "./scope";

describe("pasted record ids", () => {
  it("are read one a line or separated, each once, in order", () => {
    expect(parseIds("101\n102, 103;104  105\n101\n\n")).toEqual(["101", "102", "103", "104", "105"]);
    expect(parseIds('"003A"\r\n"003B"')).toEqual(["003A", "003B"]);
    expect(parseIds("  \n ")).toEqual([]);
  });
});
