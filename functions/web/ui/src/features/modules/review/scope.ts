// Run Now on selected records: the ids a person pastes (one a line, or separated by commas,
// semicolons or spaces, as spreadsheets and CRM exports give them), each once, in order.
export function parseIds(text: string): string[] {
  const seen = new Set<string>();
  for (const id of text.split(/[\s,;]+/)) {
    const t = id.trim().replace(/^"(.*)"$/, "$1");
    if (t) seen.add(t);
  }
  return [...seen];
}
