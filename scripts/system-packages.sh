#!/usr/bin/env bash
# Installs the Debian packages Tributary needs, when they are missing and we are allowed to (root or sudo).
# WeasyPrint: libharfbuzz-subset0 (fast font subsetting), pango, DejaVu fonts. Tests: chromium, poppler-utils, zbar-tools (zbarimg reads
# the EPC QR code back from an invoice PDF).
set -u
packages=(libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils zbar-tools)
if [ "${TRIBUTARY_BROWSER_TESTS:-1}" != "0" ]; then
  packages+=(chromium)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Not a Debian system: please install ${missing[*]} yourself." >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "Missing Debian packages (${missing[*]}); run as root to install them. Continuing without." >&2
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
  echo "Could not install ${missing[*]}; PDFs will be slower and browser tests will be skipped." >&2
}
exit 0
