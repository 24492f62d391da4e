# Start a chat on Windows (PowerShell): creates .venv on first use, then runs p2pchat with your
# arguments, as scripts/chat does elsewhere.
#   scripts\chat.ps1 --nick alice            (more: scripts\chat.ps1 --help)
# Uses the "py" launcher that python.org's installer sets up, or the Python named by $env:PYTHON.
$ErrorActionPreference = "Stop"
$root = Split-Path -Parent $PSScriptRoot
$venv = Join-Path $root ".venv"
$venvPython = Join-Path $venv "Scripts\python.exe"
if ($env:PYTHON) { $python = $env:PYTHON; $pyArgs = @() } else { $python = "py"; $pyArgs = @("-3") }
& $python @pyArgs -c "import sys; sys.exit(sys.version_info < (3, 11))"
if ($LASTEXITCODE -ne 0) {
    Write-Host "p2pchat needs Python 3.11 or newer: install it from python.org (or set PYTHON)"
    exit 2
}
if (-not (Test-Path $venvPython)) {
    Write-Host "setting up $venv (first run only)..."
    & $python @pyArgs -m venv $venv
    if ($LASTEXITCODE -ne 0) { exit 2 }
}
$stamp = Join-Path $venv ".p2pchat-installed"
$hash = (Get-FileHash (Join-Path $root "pyproject.toml") -Algorithm SHA256).Hash.Substring(0, 16)
$have = if (Test-Path $stamp) { (Get-Content $stamp -Raw).Trim() } else { "" }
if (-not $have.StartsWith($hash.ToLower())) {
    Write-Host "installing p2pchat into $venv..."
    & $venvPython -m pip install --quiet --disable-pip-version-check -e $root
    if ($LASTEXITCODE -ne 0) { exit 2 }
    Set-Content -Path $stamp -Value $hash.ToLower()
}
& (Join-Path $venv "Scripts\p2pchat.exe") @args
exit $LASTEXITCODE
