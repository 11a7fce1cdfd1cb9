// Placeholder: being built.
import { Title } from "@mantine/core";

export default function ModulePage() {
  return <Title order={2}>ModulePage</Title>;
}
