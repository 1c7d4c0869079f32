import { useEffect, useState } from 'react';
import { api, errorMessage } from './api';

type Query = Record<string, string | number | undefined>;

/**
 * GETs an API path whenever the query changes and keeps the latest answer;
 * answers to superseded queries are dropped.
 */
export function useApiGet<T>(path: string, query: Query): { data: T | null; error: string | null; loading: boolean } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const key = JSON.stringify(query);

  useEffect(() => {
    let live = true;
    setLoading(true);
    api<T>('GET', path, { query: JSON.parse(key) as Query })
      .then(
        (v) => {
          if (!live) return;
          setData(v);
          setError(null);
        },
        (err: unknown) => live && setError(errorMessage(err)),
      )
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [path, key]);

  return { data, error, loading };
}
