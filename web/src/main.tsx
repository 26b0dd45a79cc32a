import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Redirect, Route, Switch } from 'wouter';
import { ApiError } from './api';
import { Layout } from './Layout';
import { ConnectionPage } from './pages/Connection';
import { Overview } from './pages/Overview';
import { SignIn } from './pages/SignIn';
import { SessionGate } from './session';
import './styles.css';

// Client-side routes live under /c/… so none of them shadows an API route (/connections/… is the API's).

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // 4xx answers are final (a 404 does not become a 200 by asking again); other failures retry briefly.
      retry: (failures, err) => !(err instanceof ApiError && err.status < 500) && failures < 2,
      refetchOnWindowFocus: true,
    },
  },
});

function App() {
  return (
    <SessionGate signIn={<SignIn />}>
      <Layout>
        <Switch>
          <Route path="/">
            <Overview />
          </Route>
          <Route path="/c/:id">{(p) => <ConnectionPage id={p.id} tab="activity" />}</Route>
          <Route path="/c/:id/health">{(p) => <ConnectionPage id={p.id} tab="health" />}</Route>
          <Route path="/c/:id/conflicts">{(p) => <ConnectionPage id={p.id} tab="conflicts" />}</Route>
          <Route>
            <Redirect to="/" />
          </Route>
        </Switch>
      </Layout>
    </SessionGate>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
