// Placeholder: being built.
import { Title } from "@mantine/core";

export default function AccountsPage() {
  return <Title order={2}>AccountsPage</Title>;
}
