// Sign-in: POST /api/v1/session sets the HttpOnly session cookie and answers the CSRF token.
import { api } from "../lib/api.js";
import { h } from "../lib/dom.js";

export const title = "Sign in";

export default async function login(ctx) {
  const next = ctx.query.get("next") || "/experiments";
  const error = h("div.error");
  const user = h("input", { name: "username", autocomplete: "username", placeholder: "User name", required: true, autofocus: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", placeholder: "Password", required: true });
  const button = h("button.primary", { type: "submit" }, "Sign in");
  const form = h("form.login", {
    onsubmit: async (event) => {
      event.preventDefault();
      button.disabled = true;
      error.textContent = "";
      try {
        const session = await api("session", { method: "POST", body: { username: user.value, password: password.value } });
        await ctx.signedIn(session.csrf_token);
        location.hash = `#${next.startsWith("/") ? next : "/experiments"}`;
      } catch (e) {
        error.textContent = e.message;
        password.select();
      } finally {
        button.disabled = false;
      }
    },
  },
  h("h1", "Sign in to Dockyard"),
  h("p.muted", "Use your Dockyard account (", h("code", "dockyard users create"), ")."),
  user, password, button, error);
  ctx.root.append(form);
  user.focus();
}
