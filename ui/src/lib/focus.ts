import { useEffect } from 'react';

/**
 * Once a new failure is on screen (an API problem, or the form's own refusal), focus the first field marked
 * `aria-invalid` inside `scope`, else the form's error message. In an effect, so it runs after React drew
 * the marks: a requestAnimationFrame from the mutation's onError could run before and miss them.
 */
export function useFocusFirstInvalid(failure: unknown, scope: string): void {
  useEffect(() => {
    if (!failure) return;
    const target = document.querySelector<HTMLElement>(`${scope} [aria-invalid="true"]`) ?? document.querySelector<HTMLElement>(`${scope} .form-error`);
    target?.focus();
  }, [failure, scope]);
}
