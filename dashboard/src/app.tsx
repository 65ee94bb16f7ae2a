import { useEffect, useState } from "preact/hooks";
import { SIGNED_OUT_EVENT } from "./lib/api";
import { forgetKey, storedKey } from "./lib/auth";
import { navigate, useRoute } from "./lib/router";
import { AccountPage } from "./pages/account";
import { CampaignsPage } from "./pages/campaigns";
import { KeysPage } from "./pages/keys";
import { MessagesPage } from "./pages/messages";
import { SandboxPage } from "./pages/sandbox";
import { SessionPage } from "./pages/session";
import { SessionsPage } from "./pages/sessions";
import { SignInPage } from "./pages/signin";
import { WebhooksPage } from "./pages/webhooks";

const NAV: [path: string, label: string][] = [
  ["sessions", "Sessions"],
  ["messages", "Messages"],
  ["campaigns", "Campaigns"],
  ["webhooks", "Webhooks"],
  ["sandbox", "Sandbox"],
  ["keys", "API keys"],
  ["account", "Account"],
];

export function App() {
  const [signedIn, setSignedIn] = useState(() => storedKey() !== null);
  const [notice, setNotice] = useState("");
  const route = useRoute();
  const [page, id, sub] = route;

  useEffect(() => {
    const signedOut = () => {
      setNotice("The API key was refused (revoked?): sign in again.");
      setSignedIn(false);
    };
    addEventListener(SIGNED_OUT_EVENT, signedOut);
    return () => removeEventListener(SIGNED_OUT_EVENT, signedOut);
  }, []);

  // Move focus to the new page's heading so keyboard and screen-reader users follow navigation.
  useEffect(() => {
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [route.join("/")]);

  if (!signedIn) return <SignInPage notice={notice} onSignedIn={() => { setNotice(""); setSignedIn(true); navigate("/sessions"); }} />;

  const signOut = () => {
    forgetKey();
    setSignedIn(false);
  };

  return (
    <div class="shell">
      {/* The hash is the router's: focus the page heading instead of following "#main". */}
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.querySelector<HTMLElement>("main h1")?.focus(); }}>
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">WhatsApp Gateway</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([path, label]) => (
              <li key={path}>
                <a href={`#/${path}`} aria-current={(page ?? "sessions") === path ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
            <li>
              <a href="/docs">API docs</a>
            </li>
          </ul>
        </nav>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main">{renderPage(page, id, sub)}</main>
    </div>
  );
}

function renderPage(page: string | undefined, id: string | undefined, sub: string | undefined) {
  switch (page) {
    case undefined:
    case "sessions":
      return id ? <SessionPage id={id} /> : <SessionsPage />;
    case "messages":
      // #/messages/campaign/<id>: one campaign's messages.
      return <MessagesPage key={sub ?? ""} campaign={id === "campaign" ? sub : undefined} />;
    case "campaigns":
      return <CampaignsPage />;
    case "webhooks":
      return <WebhooksPage />;
    case "sandbox":
      return <SandboxPage />;
    case "keys":
      return <KeysPage />;
    case "account":
      return <AccountPage />;
    default:
      return <h1 tabIndex={-1}>Page not found</h1>;
  }
}
