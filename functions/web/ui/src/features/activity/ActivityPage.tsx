// Placeholder: being built.
import { Title } from "@mantine/core";

export default function ActivityPage() {
  return <Title order={2}>ActivityPage</Title>;
}
