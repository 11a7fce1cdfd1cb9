// A value someone pastes elsewhere (an id, an endpoint, a secret): shown as code with a
// copy button named for what it copies.
import { Button, Code, CopyButton, Group, Text } from "@mantine/core";

export function CopyValue({ label, value, what, block = false }: { label?: string; value: string; what: string; block?: boolean }) {
  return (
    <div>
      {label && (
        <Text size="xs" fw={700} c="gray.7" tt="uppercase">
          {label}
        </Text>
      )}
      <Group gap="xs" wrap="nowrap" align="center">
        <Code block={block} style={{ wordBreak: "break-all", whiteSpace: "pre-wrap" }}>
          {value}
        </Code>
        <CopyButton value={value}>
          {({ copied, copy }) => (
            <Button style={{ flexShrink: 0 }} size="compact-xs" variant={copied ? "light" : "default"} {...(copied ? { color: "green" } : {})} onClick={copy} aria-label={copied ? `Copied ${what}` : `Copy ${what}`}>
              {copied ? "Copied" : "Copy"}
            </Button>
          )}
        </CopyButton>
      </Group>
    </div>
  );
}
