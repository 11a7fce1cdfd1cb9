// The frame around every signed-in screen: navigation (only the modules the member can
// read), the CRM account, the person and Logout. Signed out, it sends to sign-in and back.
import { Suspense } from "react";
import { AppShell, Badge, Burger, Button, Center, Group, Loader, NavLink, Stack, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useQueryClient } from "@tanstack/react-query";
import { Link, Navigate, Outlet, useLocation, useNavigate } from "react-router";
import { api } from "../api/client";
import { ApiError } from "../api/problem";
import { useRefusedConnection } from "../api/refusedConnection";
import { can, signInPath, useMe } from "../api/session";
import { ProblemAlert } from "../components/ProblemAlert";
import { SignInAgainNotice } from "../components/SignInAgain";
import { MODULES } from "./modules";

export function Shell() {
  const me = useMe();
  const refused = useRefusedConnection();
  const location = useLocation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [opened, { toggle }] = useDisclosure();

  if (me.isPending) {
    return (
      <Center h="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  }
  if (me.error instanceof ApiError && me.error.status === 401) return <Navigate to={signInPath(location)} replace />;
  if (me.error) {
    return (
      <Center h="100vh" p="xl">
        <ProblemAlert error={me.error} title="Steward could not load your account" />
      </Center>
    );
  }
  const data = me.data;
  const logout = async () => {
    await api.POST("/auth/logout");
    client.clear();
    void navigate("/signin");
  };
  const at = (path: string) => location.pathname === path || location.pathname.startsWith(`${path}/`);

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 240, breakpoint: "sm", collapsed: { mobile: !opened } }} padding="lg">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={1} size="h4">
              <Link to="/" style={{ color: "inherit", textDecoration: "none" }}>
                Steward
              </Link>
            </Title>
            <Badge variant="light" color={data.account.crm === "hubspot" ? "orange" : "blue"}>
              {data.account.crm === "hubspot" ? "HubSpot" : "Salesforce"} {data.account.org_id}
            </Badge>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Stack gap={0} align="flex-end" visibleFrom="sm">
              <Text size="sm" fw={500}>
                {data.user.name ?? data.user.email}
              </Text>
              <Text size="xs" c="dimmed">
                {data.role}
              </Text>
            </Stack>
            <Button variant="default" size="xs" onClick={() => void logout()}>
              Log out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm" aria-label="Main">
        <Text size="xs" fw={700} c="dimmed" tt="uppercase" px="sm" pb={4}>
          Modules
        </Text>
        {MODULES.filter((m) => can(data, m.id, "read")).map((m) => (
          <NavLink
            key={m.id}
            component={Link}
            to={`/modules/${m.id}`}
            label={m.title}
            active={at(`/modules/${m.id}`)}
            rightSection={
              can(data, m.id, "write") ? undefined : (
                <Badge size="xs" variant="outline" color="gray">
                  read-only
                </Badge>
              )
            }
          />
        ))}
        <Text size="xs" fw={700} c="dimmed" tt="uppercase" px="sm" pt="md" pb={4}>
          Automation
        </Text>
        <NavLink component={Link} to="/automation/recipes" label="Recipes" active={at("/automation")} />
        <Text size="xs" fw={700} c="dimmed" tt="uppercase" px="sm" pt="md" pb={4}>
          Account
        </Text>
        <NavLink component={Link} to="/activity" label="Activity Tracker" active={at("/activity")} />
        <NavLink component={Link} to="/settings/users" label="Users" active={at("/settings/users")} />
        <NavLink component={Link} to="/settings/schedules" label="Schedules" active={at("/settings/schedules")} />
        <NavLink component={Link} to="/settings/accounts" label="CRM account" active={at("/settings/accounts")} />
      </AppShell.Navbar>
      <AppShell.Main>
        {refused && <SignInAgainNotice problem={refused} crm={data.account.crm} />}
        <Suspense
          fallback={
            <Center h="40vh">
              <Loader aria-label="Loading" />
            </Center>
          }
        >
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
