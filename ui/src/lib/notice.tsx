import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';

type Notify = (text: string) => void;
const NoticeContext = createContext<Notify>(() => undefined);

/** How long a notice stays (it can be dismissed sooner). */
const NOTICE_MS = 10_000;

/**
 * A short confirmation after an action whose page goes away or changes quietly (created, saved, disabled):
 * shown above the page in a polite live region, so screen readers hear it too.
 */
export function NoticeProvider({ children }: { children: ReactNode }) {
  const [notice, setNotice] = useState<{ text: string; at: number } | undefined>();
  const notify = useCallback<Notify>((text) => setNotice({ text, at: Date.now() }), []);
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(undefined), NOTICE_MS);
    return () => clearTimeout(t);
  }, [notice]);
  return (
    <NoticeContext.Provider value={notify}>
      <div className="notice-area" role="status" aria-live="polite" data-testid="notice">
        {notice && (
          <p className="notice">
            <span>{notice.text}</span>
            <button type="button" className="ghost" aria-label="Dismiss" onClick={() => setNotice(undefined)}>×</button>
          </p>
        )}
      </div>
      {children}
    </NoticeContext.Provider>
  );
}

export const useNotify = () => useContext(NoticeContext);
