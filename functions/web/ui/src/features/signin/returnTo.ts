// Where to go after signing in: only a same-origin path (the server checks again and binds
// it to the OAuth state; this keeps the sign-in page from even offering anything else).
export function safeReturnTo(value: string | null): string | undefined {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return undefined;
  if (/[\u0000-\u001f\u007f]/.test(value)) return undefined;
  return value;
}
