/** The dashboard's shell: header, navigation, the page for the address, the session's state. */
import { render } from 'preact';
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, Loading } from './components/ui.js';
import { onSessionEnded, signOut } from './lib/api.js';
import { interceptLinks, useLocation } from './lib/router.js';
import { entryFor, NAV } from './nav.js';
import type { NavEntry, PageModule } from './nav.js';
import logo from './favicon.svg';
import './styles.css';

type Theme = 'system' | 'light' | 'dark';
const THEMES: Theme[] = ['system', 'light', 'dark'];

function applyTheme(t: Theme): void {
  if (t === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
}

function ThemeButton(): JSX.Element {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem('kumo-theme') as Theme | null) ?? 'system');
  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem('kumo-theme', theme);
  }, [theme]);
  const next = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length] ?? 'system';
  return (
    <button type="button" class="ghost" onClick={() => setTheme(next)} aria-label={`Colour theme: ${theme}; switch to ${next}`}>
      Theme: {theme}
    </button>
  );
}

function Nav({ current }: { current: NavEntry | undefined }): JSX.Element {
  const groups = [...new Set(NAV.map((e) => e.group))];
  return (
    <nav aria-label="Pages">
      {groups.map((g) => (
        <div key={g} class="nav-group">
          <h2>{g}</h2>
          <ul>
            {NAV.filter((e) => e.group === g).map((e) => (
              <li key={e.path}>
                <a href={e.path} aria-current={e === current ? 'page' : undefined} class={e.load ?? e.module ? '' : 'not-yet'}>
                  {e.title}
                  {!e.load && !e.module && <span class="badge">not yet</span>}
                </a>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </nav>
  );
}

function NotYet({ entry }: { entry: NavEntry }): JSX.Element {
  return (
    <>
      <h1>{entry.title}</h1>
      <p>
        This kumo has no {entry.title} API yet, so there is nothing to show here: this page will list {entry.about} once kumo serves them.
      </p>
    </>
  );
}

function PageFor({ entry, rest }: { entry: NavEntry; rest: string }): JSX.Element {
  const loc = useLocation();
  if (entry.module) return <entry.module.Page loc={loc} rest={rest} />;
  return <LazyPage entry={entry} rest={rest} />;
}

function LazyPage({ entry, rest }: { entry: NavEntry; rest: string }): JSX.Element {
  const loc = useLocation();
  const [mod, setMod] = useState<{ entry: NavEntry; m: PageModule }>();
  const [error, setError] = useState<Error>();
  useEffect(() => {
    let live = true;
    setError(undefined);
    entry.load?.().then(
      (m) => live && setMod({ entry, m }),
      (e: unknown) => live && setError(e as Error),
    );
    return () => {
      live = false;
    };
  }, [entry]);
  if (error) return <ErrorBox error={error} title={`Could not load ${entry.title}`} />;
  if (!mod || mod.entry !== entry) return <Loading what={entry.title} />;
  return <mod.m.Page loc={loc} rest={rest} />;
}

function App(): JSX.Element {
  const loc = useLocation();
  const [ended, setEnded] = useState(false);
  useEffect(() => onSessionEnded(() => setEnded(true)), []);
  const { entry, rest } = entryFor(loc.path);
  useEffect(() => {
    document.title = entry ? `${rest ? `${rest} · ` : ''}${entry.title} · kumo` : 'kumo';
  }, [entry, rest]);
  const out = async () => {
    await signOut();
    location.assign('/');
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/services">
          <img src={logo} alt="" width="24" height="24" /> kumo
        </a>
        <span class="spacer" />
        <ThemeButton />
        <button type="button" class="ghost" onClick={() => void out()}>
          Sign out
        </button>
      </header>
      <div class="layout">
        <Nav current={entry} />
        <main id="main" tabIndex={-1}>
          {ended && (
            <div class="error" role="alert">
              Your dashboard session has ended. Run <code>kumo dashboard --open</code> to sign in again.
            </div>
          )}
          {!entry && (
            <>
              <h1>Not found</h1>
              <p>
                Nothing here. Go to the <a href="/services">services</a>.
              </p>
            </>
          )}
          {entry && !entry.load && !entry.module && <NotYet entry={entry} />}
          {(entry?.load ?? entry?.module) && <PageFor entry={entry} rest={rest} />}
        </main>
      </div>
    </>
  );
}

const root = document.getElementById('app');
if (root) {
  interceptLinks(document.body);
  render(<App />, root);
}
