"""Maps the repository's folders into the one ``linli`` namespace: ``bot/`` installs as
``linli.bot``, ``verification/`` as ``linli.verification``, and so on. Packages are found, not
listed by hand; the metadata is in pyproject.toml. tests/unit/test_packaging.py builds the wheel
and checks that nothing but ``linli`` lands at the top level of site-packages."""

from setuptools import find_packages, setup

PARTS = ["bot", "common", "community", "storage", "verification", "broadcasts", "questions",
         "moderation", "enrolment"]

packages = ["linli"]
package_dir = {"linli": "linli"}
for part in PARTS:
    for found in find_packages(where=".", include=[part, f"{part}.*"]):
        name = f"linli.{found}"
        packages.append(name)
        package_dir[name] = found.replace(".", "/")

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={
        # every part's gettext catalogues, compiled (see linli.common.catalogues)
        "": ["locale/*/LC_MESSAGES/*.mo"],
        "linli.storage": ["migrations/*.py", "migrations/*.mako", "migrations/versions/*.py",
                          "alembic.ini"],
        "linli.bot": ["web/static/*", "web/templates/*"],
        "linli.verification": ["templates/*"],
        "linli.questions": ["data/*.json", "data/*.jsonl", "data/*.md"],
    },
)
