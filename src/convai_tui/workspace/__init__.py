"""Local workspace: prompt versions, scenarios and tests on disk. Imports no Textual."""
