// first: starts the first page's requests before the rest of the console is evaluated
import './prefetch';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Root } from './App';

const el = document.getElementById('root');
if (el) {
  createRoot(el).render(
    <StrictMode>
      <Root />
    </StrictMode>,
  );
}
