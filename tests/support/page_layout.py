"""What a browser test measures of a page's layout: the 1366x768 viewport and what overflows it."""

from __future__ import annotations

from typing import Any

VIEWPORT = {"width": 1366, "height": 768}


def page_overflow(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => ({
            scroll: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
            viewport: document.documentElement.clientWidth,
            logoutLines: (() => {
                const b = document.querySelector('.topbar .logout button');
                if (!b) return 1;
                const r = document.createRange(); r.selectNodeContents(b);
                return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size;
            })(),
            // the outermost elements that stick out on the right: what to fix
            culprits: [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > innerWidth + 1
                    && !(e.parentElement && e.parentElement.getBoundingClientRect().right
                         > innerWidth + 1))
                .slice(0, 3)
                .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className
                    + ' w=' + Math.round(e.getBoundingClientRect().width)),
        })"""
    )
