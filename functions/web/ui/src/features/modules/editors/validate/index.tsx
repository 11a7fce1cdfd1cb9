// Placeholder until the validate editor lands: the contract it fills (see ../types.ts).
import { Text } from "@mantine/core";
import type { Configs, EditorProps } from "../types";

export function emptyConfig(object: string): Configs["validate"] {
  return { object, rules: [] } as unknown as Configs["validate"];
}

export function ValidateEditor(_props: EditorProps<Configs["validate"]>) {
  return <Text c="dimmed">The validate editor is being built.</Text>;
}
