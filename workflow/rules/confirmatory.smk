# The confirmatory MinAtar study (config/confirmatory.yaml, pre-registered in
# docs/preregistration.md); its functions are in common.smk. Without config `confirmatory` the
# rules match nothing and `confirmatory_runs` is empty.


rule confirmatory_runs:
    """Every pre-registered run of the confirmatory study (none without config confirmatory)."""
    input:
        confirmatory_outputs(),


rule confirmatory_report:
    """The study's tables, verdicts and figures (docs/preregistration.md, "Analysis")."""
    input:
        confirmatory_outputs(),
    output:
        multiext(f"{CONFIRMATORY_REPORTS}/runs", ".csv", ".md"),
        multiext(f"{CONFIRMATORY_REPORTS}/main", ".csv", ".md"),
        report(f"{CONFIRMATORY_REPORTS}/verdicts.csv", category="Confirmatory study"),
        f"{CONFIRMATORY_REPORTS}/verdicts.md",
        report(f"{CONFIRMATORY_REPORTS}/curves.png", category="Confirmatory study"),
        report(f"{CONFIRMATORY_REPORTS}/aggregate.png", category="Confirmatory study"),
        # Amendment 5's tests of the attention agent (Mott et al.'s claim is in verdicts).
        multiext(f"{CONFIRMATORY_REPORTS}/attention-ac-lambda", ".csv", ".md"),
        multiext(f"{CONFIRMATORY_REPORTS}/attention-above-random", ".csv", ".md"),
        report(f"{CONFIRMATORY_REPORTS}/attention-curves.png", category="Confirmatory study"),
        # Amendment 1's tests and where agents look (agents/confirmatory_interpret.py).
        multiext(f"{CONFIRMATORY_REPORTS}/interpret/verdicts", ".csv", ".md", ".png"),
        multiext(f"{CONFIRMATORY_REPORTS}/interpret/table2", ".csv", ".md"),
        multiext(f"{CONFIRMATORY_REPORTS}/interpret/runs", ".csv", ".md"),
        multiext(f"{CONFIRMATORY_REPORTS}/interpret/grounding", ".csv", ".md", ".png"),
        f"{CONFIRMATORY_REPORTS}/interpret/grounding-maps.png",
    log:
        f"{CONFIRMATORY_REPORTS}/logs/report.log",
    params:
        python=PYTHON,
        configs=" ".join(map(str, workflow.overwrite_configfiles)),
    conda:
        ENV
    shell:
        "{params.python} -m agents confirmatory --config {params.configs} "
        f"--out {CONFIRMATORY_REPORTS} > {{log}} 2>&1"


rule confirmatory:
    """The confirmatory study: its runs (those not committed yet), then its report."""
    input:
        rules.confirmatory_report.output,
