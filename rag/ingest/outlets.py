"""Outlet registry: every spelling and domain of an outlet resolves to one canonical (zh) name."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from rag.errors import NewsragError

log = logging.getLogger(__name__)

REGISTRY_FILE = "outlets.yaml"
ENV_VAR = "NEWSRAG_OUTLETS"


class OutletRegistryError(NewsragError):
    pass


@dataclass(frozen=True)
class Outlet:
    name: str  # canonical zh name, e.g. "半岛电视台"
    en: str = ""
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


_KEY_DROP = re.compile(r"[\s\-_·・.。]+")


def _key(alias: str) -> str:
    return _KEY_DROP.sub("", alias).casefold()


@dataclass(frozen=True)
class OutletRegistry:
    """Lookups by alias (case/space-insensitive) and by URL domain (longest suffix wins)."""

    outlets: tuple[Outlet, ...] = ()
    _by_alias: dict[str, Outlet] = field(default_factory=dict, repr=False, compare=False)
    _by_domain: dict[str, Outlet] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, outlets: list[Outlet]) -> "OutletRegistry":
        by_alias: dict[str, Outlet] = {}
        by_domain: dict[str, Outlet] = {}
        for outlet in outlets:
            for alias in (outlet.name, outlet.en, *outlet.aliases):
                if alias:
                    by_alias[_key(alias)] = outlet
            for domain in outlet.domains:
                by_domain[domain.lower().removeprefix("www.")] = outlet
        return cls(tuple(outlets), by_alias, by_domain)

    def lookup(self, name: str) -> Outlet | None:
        """The outlet an alias names, or None."""
        if not name:
            return None
        return self._by_alias.get(_key(name))

    def find_in(self, text: str) -> Outlet | None:
        """The outlet of a free-text attribution ("Aljazeera 半岛网", "来源：美国之音"): exact alias, then the longest alias inside."""
        exact = self.lookup(text)
        if exact or not text:
            return exact
        k = _key(text)
        best: tuple[int, Outlet] | None = None
        for alias, outlet in self._by_alias.items():
            if len(alias) >= 2 and alias in k and (best is None or len(alias) > best[0]):
                if alias.isascii() and len(alias) < 4:
                    continue  # "dw", "ap", "soh" inside an English word is noise
                best = (len(alias), outlet)
        return best[1] if best else None

    def mentioned(self, text: str) -> list[tuple[str, Outlet]]:
        """Every outlet named in free text, with the alias as written (longest aliases first, no overlaps).

        Example: "观察者网和半岛电视台的说法有何不同" -> [("观察者网", 观察者网), ("半岛电视台", 半岛电视台)].
        """
        from rag.text.fold import fold

        folded = fold(text)
        key = _key(folded)
        found: list[tuple[str, Outlet]] = []
        taken = [False] * len(key)
        for alias, outlet in sorted(self._by_alias.items(), key=lambda kv: -len(kv[0])):
            if len(alias) < 2 or (alias.isascii() and len(alias) < 4):
                continue
            at = key.find(alias)
            while at >= 0 and any(taken[at : at + len(alias)]):
                at = key.find(alias, at + 1)
            if at < 0:
                continue
            for i in range(at, at + len(alias)):
                taken[i] = True
            if all(o.name != outlet.name for _, o in found):
                found.append((alias, outlet))
        return found

    def from_url(self, url: str) -> Outlet | None:
        """The outlet whose domain (or domain/path prefix) the URL is on, or None."""
        if not url:
            return None
        try:
            parts = urlsplit(url if "//" in url else "//" + url)
        except ValueError:
            return None
        host = (parts.hostname or "").lower().removeprefix("www.")
        if not host:
            return None
        path = parts.path
        labels = host.split(".")
        for i in range(len(labels) - 1):
            domain = ".".join(labels[i:])
            first = path.strip("/").split("/")[0]
            if first and f"{domain}/{first}" in self._by_domain:
                return self._by_domain[f"{domain}/{first}"]
            if domain in self._by_domain:
                return self._by_domain[domain]
        return None

    def canonical(self, name: str) -> str:
        """Canonical name for an alias; the input, trimmed, when unknown."""
        outlet = self.lookup(name)
        return outlet.name if outlet else name.strip()


def _parse_entries(data: object, origin: str) -> list[Outlet]:
    entries = data.get("outlets") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise OutletRegistryError(f"{origin}: expected a top-level 'outlets:' list of entries with name/en/aliases/domains")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("name"):
            raise OutletRegistryError(f"{origin}: entry {i + 1} needs at least 'name:' (canonical zh outlet name)")
        out.append(
            Outlet(
                name=str(entry["name"]).strip(),
                en=str(entry.get("en") or "").strip(),
                aliases=tuple(str(a).strip() for a in entry.get("aliases") or () if str(a).strip()),
                domains=tuple(str(d).strip().lower() for d in entry.get("domains") or () if str(d).strip()),
            )
        )
    return out


def _load_yaml(text: str, origin: str) -> list[Outlet]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OutletRegistryError(f"{origin} is not valid YAML ({exc}); fix or remove it") from exc
    return _parse_entries(data, origin)


def merge(base: list[Outlet], extra: list[Outlet]) -> list[Outlet]:
    """Later entries add aliases/domains to an outlet of the same name and override its `en`."""
    by_name = {o.name: o for o in base}
    order = [o.name for o in base]
    for o in extra:
        old = by_name.get(o.name)
        if old is None:
            order.append(o.name)
            by_name[o.name] = o
        else:
            by_name[o.name] = Outlet(
                name=o.name,
                en=o.en or old.en,
                aliases=tuple(dict.fromkeys(old.aliases + o.aliases)),
                domains=tuple(dict.fromkeys(old.domains + o.domains)),
            )
    return [by_name[n] for n in order]


@lru_cache(maxsize=1)
def _builtin() -> tuple[Outlet, ...]:
    text = resources.files("rag").joinpath("data", REGISTRY_FILE).read_text(encoding="utf-8")
    return tuple(_load_yaml(text, "rag/data/outlets.yaml"))


def load_registry(corpus_root: Path | None = None) -> OutletRegistry:
    """The built-in registry, extended by <corpus_root>/outlets.yaml and then by $NEWSRAG_OUTLETS."""
    outlets = list(_builtin())
    extra_files = []
    if corpus_root is not None:
        extra_files.append(Path(corpus_root) / REGISTRY_FILE)
    env = os.environ.get(ENV_VAR)
    if env:
        env_path = Path(env).expanduser()
        if not env_path.is_file():
            raise OutletRegistryError(f"${ENV_VAR} points to {env_path}, which is not a file; fix or unset it")
        extra_files.append(env_path)
    for path in extra_files:
        if path.is_file():
            outlets = merge(outlets, _load_yaml(path.read_text(encoding="utf-8"), str(path)))
            log.info("outlet registry extended from %s", path)
    return OutletRegistry.build(outlets)
