// Small DOM helpers: an element builder, listeners that can be disposed, and redraws coalesced to one per frame.
import type { Disposable } from '../../app/ipc/contract.js';

type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined | null>;

/** h('button', {class: 'x', onclick}, 'text'). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined | false)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value as EventListener);
    // Through the CSSOM, which a Content-Security-Policy without 'unsafe-inline' styles allows.
    else if (name === 'style') el.style.cssText = String(value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

/** Sets the element's text, leaving the DOM alone when it is already that text (a write always costs a repaint). */
export function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Sets a property of the element, leaving the DOM alone when it already has that value. */
export function setProperty<E extends HTMLElement, K extends keyof E>(el: E, key: K, value: E[K]): void {
  if (el[key] !== value) el[key] = value;
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

/** addEventListener, undone by disposing what it returns. */
export function listen<K extends keyof WindowEventMap>(target: Window, type: K, listener: (e: WindowEventMap[K]) => void, options?: AddEventListenerOptions): Disposable;
export function listen<K extends keyof HTMLElementEventMap>(target: HTMLElement, type: K, listener: (e: HTMLElementEventMap[K]) => void, options?: AddEventListenerOptions): Disposable;
export function listen(target: EventTarget, type: string, listener: (e: Event) => void, options?: AddEventListenerOptions): Disposable {
  target.addEventListener(type, listener, options);
  return { dispose: () => target.removeEventListener(type, listener, options) };
}

/** Disposables collected to be disposed together, last first. */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];

  add<T extends Disposable>(item: T): T {
    this.items.push(item);
    return item;
  }

  dispose(): void {
    for (const item of this.items.splice(0).reverse()) item.dispose();
  }
}

/** `draw` run at most once per animation frame, however often it is asked for; disposing drops a pending one. */
export function everyFrame(draw: () => void): { request(): void } & Disposable {
  let handle = 0;
  return {
    request() {
      if (handle === 0) handle = requestAnimationFrame(() => {
        handle = 0;
        draw();
      });
    },
    dispose() {
      if (handle !== 0) cancelAnimationFrame(handle);
      handle = 0;
    },
  };
}
