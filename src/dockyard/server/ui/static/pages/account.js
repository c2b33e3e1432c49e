// Account and admin: your API tokens and access keys for AWS clients (made here, the secret
// shown once; revoked here), and
// for admins the accounts (create, role, disable/enable, delete), anyone's tokens, and the
// grants on an experiment, model or endpoint (who holds which level; set or remove one).
import { api } from "../lib/api.js";
import { h, clear, badge, fmtTime, table, toast } from "../lib/dom.js";
import { canEdit, confirmAction, errorText, field, input, isAdmin, modal, select, showSecret } from "../lib/forms.js";

export const title = "Account";

const ROLES = ["viewer", "member", "admin"];
const LEVELS = ["none", "read", "edit", "manage"];
const KINDS = [["experiment", "Experiment (id)"], ["registered_model", "Registered model (name)"], ["endpoint", "Endpoint (name)"]];

export default async function account(ctx) {
  const { root, me, query } = ctx;
  const admin = isAdmin(me);
  const tokensBox = h("div#tokens");
  const keysBox = h("div#access-keys");
  const usersBox = h("div#users");
  const grantsBox = h("div#grants");
  const tokenUser = admin ? h("select#token-user", { onchange: () => { drawTokens(); drawKeys(); } }) : null;
  root.append(
    h("div.head", h("h1", admin ? "Admin" : "Account"), h("span", me.kind === "user" ? "Signed in as " : "Not signed in: acting as ", h("b", me.name), " ", h("span.chip", me.role), me.read_only ? h("span.chip", "read-only") : null)),
    h("div.row", h("h2", "API tokens"), tokenUser, h("div.spacer"),
      me.kind === "user" ? h("button.primary#new-token", { type: "button", onclick: newToken }, "New token") : null),
    tokensBox,
    h("div.row", h("h2", "Access keys"), h("span.muted", "boto3 and the SageMaker SDK sign with them"), h("div.spacer"),
      me.kind === "user" ? h("button.primary#new-access-key", { type: "button", onclick: newKey }, "New access key") : null),
    keysBox,
    ...(admin ? [h("div.row", h("h2", "Users"), h("div.spacer"), h("button.primary#new-user", { type: "button", onclick: newUser }, "New user")), usersBox] : []),
    h("h2", "Grants"), grantsBox);

  // -- tokens ------------------------------------------------------------------------------------
  async function drawTokens() {
    let tokens;
    try { tokens = (await api("tokens", { query: { user: tokenUser && tokenUser.value !== me.name ? tokenUser.value : undefined } })).tokens; } catch (e) { clear(tokensBox, h("p.muted", errorText(e))); return; }
    const live = (t) => !t.revoked_time && (!t.expires_time || t.expires_time > Date.now());
    clear(tokensBox, tokens.length ? table([
      ["Name", (t) => t.name], ["Id", (t) => h("span.mono", t.token_id)], ["User", (t) => t.user],
      ["Access", (t) => (t.read_only ? "read-only" : t.job ? `job ${t.job}` : "full")],
      ["Created", (t) => fmtTime(t.created_time)], ["Expires", (t) => (t.expires_time ? fmtTime(t.expires_time) : "never")],
      ["State", (t) => (t.revoked_time ? badge("Revoked") : live(t) ? badge("ok") : badge("Expired"))],
      ["", (t) => (live(t) ? h("button.danger", { type: "button", class: "revoke-token", dataset: { token: t.name }, onclick: () => revokeToken(t) }, "Revoke") : "")],
    ], tokens, { rowClass: (t) => (live(t) ? "" : "muted") }) : h("p.muted", me.kind === "user" ? "No tokens." : "No tokens. Tokens belong to an account: sign in to make one."));
  }
  async function newToken() {
    const made = await modal({
      title: "New API token", submit: "Create", id: "token-dialog",
      body: [field("Name", input("name", { required: true, value: "token" }), "What it is for (a laptop, CI)."),
        field("Lifetime (days)", input("ttl_days", { type: "number", min: "0", step: "any", placeholder: "(the server's default)" })),
        h("label.check", h("input", { type: "checkbox", name: "read_only" }), "Read-only"),
        admin ? field("For user", input("user", { placeholder: me.name })) : null],
      onSubmit: (v) => api("tokens", { method: "POST", body: {
        name: v.name.trim(), ttl_days: v.ttl_days === "" ? undefined : Number(v.ttl_days), read_only: v.read_only,
        user: v.user && v.user.trim() ? v.user.trim() : undefined,
      } }),
    });
    if (!made) return;
    await showSecret(`Token ${made.name}`, made.token, "Use it as DOCKYARD_TOKEN or Authorization: Bearer <token>. It is shown only this once.");
    drawTokens();
  }
  async function revokeToken(t) {
    const done = await confirmAction(`Revoke ${t.name}?`, h("p", "Clients using it are refused from now on."),
      () => api(`tokens/${encodeURIComponent(t.token_id)}`, { method: "DELETE" }), { submit: "Revoke", id: "confirm-dialog" });
    if (done) { toast(`Revoked ${t.name}`); drawTokens(); }
  }

  // -- access keys -------------------------------------------------------------------------------
  async function drawKeys() {
    let keys;
    try { keys = (await api("access-keys", { query: { user: tokenUser && tokenUser.value !== me.name ? tokenUser.value : undefined } })).access_keys; } catch (e) { clear(keysBox, h("p.muted", errorText(e))); return; }
    const live = (k) => !k.revoked_time && (!k.expires_time || k.expires_time > Date.now());
    clear(keysBox, keys.length ? table([
      ["Name", (k) => k.name], ["Access key id", (k) => h("span.mono", k.access_key_id)], ["User", (k) => k.user],
      ["Access", (k) => (k.read_only ? "read-only" : "full")],
      ["Created", (k) => fmtTime(k.created_time)], ["Expires", (k) => (k.expires_time ? fmtTime(k.expires_time) : "never")],
      ["State", (k) => (k.revoked_time ? badge("Revoked") : live(k) ? badge("ok") : badge("Expired"))],
      ["", (k) => (live(k) ? h("button.danger", { type: "button", class: "revoke-key", dataset: { key: k.access_key_id }, onclick: () => revokeKey(k) }, "Revoke") : "")],
    ], keys, { rowClass: (k) => (live(k) ? "" : "muted") }) : h("p.muted", me.kind === "user" ? "No access keys." : "No access keys. Access keys belong to an account: sign in to make one."));
  }
  async function newKey() {
    const made = await modal({
      title: "New access key", submit: "Create", id: "access-key-dialog",
      body: [field("Name", input("name", { required: true, value: "access key" }), "What it is for (a notebook, a pipeline)."),
        field("Lifetime (days)", input("ttl_days", { type: "number", min: "0", step: "any", placeholder: "(the server's default)" })),
        h("label.check", h("input", { type: "checkbox", name: "read_only" }), "Read-only"),
        admin ? field("For user", input("user", { placeholder: me.name })) : null],
      onSubmit: (v) => api("access-keys", { method: "POST", body: {
        name: v.name.trim(), ttl_days: v.ttl_days === "" ? undefined : Number(v.ttl_days), read_only: v.read_only,
        user: v.user && v.user.trim() ? v.user.trim() : undefined,
      } }),
    });
    if (!made) return;
    await showSecret(`Access key ${made.access_key_id}`, made.secret_access_key,
      `Use ${made.access_key_id} as AWS_ACCESS_KEY_ID and this secret as AWS_SECRET_ACCESS_KEY. The server keeps the secret to check signatures; it is shown only this once.`);
    drawKeys();
  }
  async function revokeKey(k) {
    const done = await confirmAction(`Revoke ${k.access_key_id}?`, h("p", "Requests it signs are refused from now on."),
      () => api(`access-keys/${encodeURIComponent(k.access_key_id)}`, { method: "DELETE" }), { submit: "Revoke", id: "confirm-dialog" });
    if (done) { toast(`Revoked ${k.access_key_id}`); drawKeys(); }
  }

  // -- users (admins) ------------------------------------------------------------------------------
  async function drawUsers() {
    let users;
    try { users = (await api("users")).users; } catch (e) { clear(usersBox, h("p.muted", errorText(e))); return; }
    if (tokenUser) {
      const chosen = tokenUser.value || me.name;
      clear(tokenUser, users.map((u) => h("option", { value: u.name, selected: u.name === chosen }, u.name === me.name ? `${u.name} (you)` : u.name)));
      // Whose tokens to list: a choice only once there are accounts to choose from.
      tokenUser.hidden = !users.length;
      tokenUser.setAttribute("aria-label", "Whose tokens and access keys");
    }
    if (!users.length) {
      clear(usersBox, h("p.muted#no-users", "No accounts yet: this server is open to local clients without sign-in. ",
        "The first account (an admin) turns sign-in on for everyone."));
      return;
    }
    clear(usersBox, table([
      ["Name", (u) => h("b", u.name)],
      ["Role", (u) => {
        const s = select("role", ROLES, u.role);
        s.setAttribute("aria-label", `Role of ${u.name}`);
        s.addEventListener("change", () => setRole(u, s));
        return s;
      }],
      ["State", (u) => (u.disabled ? badge("Disabled") : badge("ok"))],
      ["Sign-in", (u) => (u.has_password ? "password" : "tokens only")],
      ["Created", (u) => fmtTime(u.created_time)],
      ["Store area", (u) => (u.area ? h("code", u.area) : "")],
      ["", (u) => h("div.actions", { dataset: { user: u.name } },
        u.name !== me.name ? h("button", { type: "button", class: u.disabled ? "enable-user" : "disable-user", onclick: () => toggleDisabled(u) }, u.disabled ? "Enable" : "Disable") : null,
        u.name !== me.name ? h("button.danger", { type: "button", class: "delete-user", onclick: () => deleteUser(u) }, "Delete") : null)],
    ], users));
  }
  async function newUser() {
    const made = await modal({
      title: "New user", submit: "Create", id: "user-dialog",
      body: [field("Name", input("name", { required: true })), field("Role", select("role", ROLES, "member")),
        field("Password", input("password", { type: "password", autocomplete: "new-password" }), "Leave empty for an account that signs in with tokens only.")],
      onSubmit: (v) => api("users", { method: "POST", body: { name: v.name.trim(), role: v.role, password: v.password || undefined } }),
    });
    if (made) { toast(`Created ${made.name}`); drawUsers(); }
  }
  async function setRole(u, s) {
    const done = await confirmAction(`Make ${u.name} ${s.value}?`, h("p", `${u.name} is ${u.role} now.`),
      () => api(`users/${encodeURIComponent(u.name)}`, { method: "PATCH", body: { role: s.value } }), { submit: "Change role", danger: s.value !== "admin" ? false : true, id: "confirm-dialog" });
    if (done) toast(`${u.name} is ${done.role}`);
    drawUsers();
  }
  async function toggleDisabled(u) {
    const disable = !u.disabled;
    const done = await confirmAction(`${disable ? "Disable" : "Enable"} ${u.name}?`,
      h("p", disable ? "The account cannot sign in, and its tokens are revoked." : "The account can sign in again (its old tokens stay revoked)."),
      () => api(`users/${encodeURIComponent(u.name)}`, { method: "PATCH", body: { disabled: disable } }), { submit: disable ? "Disable" : "Enable", danger: disable, id: "confirm-dialog" });
    if (done) drawUsers();
  }
  async function deleteUser(u) {
    const done = await confirmAction(`Delete ${u.name}?`, h("p", "The account goes with its tokens, sessions and grants. What it created stays, its uploads and checkpoints too (for admins); an account made later under this name gets a store area of its own."),
      () => api(`users/${encodeURIComponent(u.name)}`, { method: "DELETE" }), { id: "confirm-dialog" });
    if (done) drawUsers();
  }

  // -- grants ----------------------------------------------------------------------------------------
  const kind = select("kind", KINDS, query.get("kind") || "experiment");
  kind.id = "grant-kind";
  const resource = input("resource", { id: "grant-resource", placeholder: "id or name", value: query.get("resource") || "" });
  const grantList = h("div");
  const grantForm = h("form.row", {
    onsubmit: (e) => { e.preventDefault(); ctx.setQuery({ kind: kind.value, resource: resource.value.trim() }); drawGrants(); },
  }, kind, resource, h("button", { type: "submit" }, "Show"),
  canEdit(me) ? h("button#set-grant", { type: "button", onclick: setGrant }, "Set grant…") : null);
  clear(grantsBox, h("p.muted", "Who holds which level on one resource. Setting one needs manage on it."), grantForm, grantList);
  async function drawGrants() {
    if (!resource.value.trim()) { clear(grantList); return; }
    try {
      const grants = (await api("grants", { query: { kind: kind.value, resource: resource.value.trim() } })).grants;
      clear(grantList, grants.length ? table([["User", (g) => (g.user === "*" ? "* (everyone signed in)" : g.user)], ["Level", (g) => h("span.chip", g.level)]], grants)
        : h("p.muted", "No grants: only its owner and admins."));
    } catch (e) { clear(grantList, h("div.banner.bad", errorText(e))); }
  }
  async function setGrant() {
    const done = await modal({
      title: "Set a grant", submit: "Set", id: "grant-dialog",
      body: [field("Kind", select("kind", KINDS, kind.value)), field("Resource", input("resource", { value: resource.value, required: true, placeholder: "id or name" })),
        field("User", input("user", { required: true, placeholder: "a user name, or * for everyone" })), field("Level", select("level", LEVELS, "read"), "none removes it.")],
      onSubmit: (v) => api("grants", { method: "PUT", body: { kind: v.kind, resource: v.resource.trim(), user: v.user.trim(), level: v.level } }),
    });
    if (done) { kind.value = done.kind; resource.value = done.resource; toast(`${done.user}: ${done.level}`); drawGrants(); }
  }

  if (admin) await drawUsers();
  await drawTokens();
  await drawKeys();
  await drawGrants();
}
