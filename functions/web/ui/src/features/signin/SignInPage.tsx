// Sign in with the CRM (no Steward password). A refused sign-in comes back here as
// `?error=<code>` and says what happened and what to do next; `return_to` (a same-origin
// path, checked again by the server) is where the browser goes after signing in.
import { Alert, Button, Center, Paper, Stack, Text, Title } from "@mantine/core";
import { useSearchParams } from "react-router";
import { loginHref } from "../../api/session";
import { signInError } from "./errors";
import { safeReturnTo } from "./returnTo";

export function SignInPage() {
  const [params] = useSearchParams();
  const returnTo = safeReturnTo(params.get("return_to"));
  const code = params.get("error");
  const error = code ? signInError(code, params.get("crm")) : undefined;

  return (
    <Center mih="100vh" p="md" bg="gray.0">
      <Paper withBorder shadow="sm" p="xl" radius="lg" w={440} component="main">
        <Stack>
          <div>
            <Title order={1} size="h2">
              Sign in to Steward
            </Title>
            <Text c="dimmed" size="sm" mt={4}>
              Use your CRM account. Steward has no password of its own.
            </Text>
          </div>
          {error && (
            <Alert color="red" title={error.title} role="alert">
              <Text size="sm">{error.what}</Text>
              <Text size="sm" mt="xs" fw={500}>
                {error.next}
              </Text>
            </Alert>
          )}
          {returnTo && !error && (
            <Text size="sm">After you sign in, Steward opens the page you asked for.</Text>
          )}
          <Button component="a" href={loginHref("hubspot", returnTo)} size="md" color="#b93d0c">
            Sign in with HubSpot
          </Button>
          <Button component="a" href={loginHref("salesforce", returnTo)} size="md" color="blue">
            Sign in with Salesforce
          </Button>
          <Text size="xs" c="dimmed">
            The first person of a CRM account to sign in becomes its Owner. Colleagues join when the Owner or an admin invites them.
          </Text>
        </Stack>
      </Paper>
    </Center>
  );
}
