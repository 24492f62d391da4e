@echo off
rem Start a chat on Windows (cmd.exe): runs scripts\chat.ps1 with your arguments.
powershell -NoProfile -ExecutionPolicy Bypass -File "%~dp0chat.ps1" %*
exit /b %ERRORLEVEL%
