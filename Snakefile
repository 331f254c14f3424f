# Regenerates the paper's Table 1 and Figure 8 (plus an rliable aggregate and a verdict table)
# from the configured agents' runs, Table 2 and the interpretability figures from i-DQN runs.
# The tables and figures are those of agents/outputs.py; config/README.md explains the config.
#   snakemake --cores 16 all                                   paper budget (72 x 10M frames)
#   snakemake --profile workflow/profiles/smoke all            tiny budgets, minutes on 2 cores
#   snakemake --profile workflow/profiles/slurm all            a Slurm cluster
#   add --sdm conda to run every job in workflow/envs/agents.yaml instead of the project's .venv
from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/config.smk"


check_config(config, "workflow/schemas/config.schema.yaml")  # --config coerced, then validated


include: "workflow/rules/common.smk"


check_training_configs()  # every preset and --set item, resolved before any job runs
if CONFIRMATORY:
    check_confirmatory()


include: "workflow/rules/train.smk"
include: "workflow/rules/reports.smk"
include: "workflow/rules/peers.smk"
include: "workflow/rules/studies.smk"
include: "workflow/rules/confirmatory.smk"


rule all:
    input:
        report_outputs(),
        # The studies are i-DQN's: in `all` when the config trains i-DQN, as Table 2 is.
        study_reports()["ablations"] if INTERPRETED in config["agents"] else [],
        study_reports()["sensitivity"] if INTERPRETED in config["agents"] else [],
        rules.confirmatory_report.output if CONFIRMATORY else [],
    default_target: True


rule reports:
    """The main grid's tables and figures, Table 2's and the interpretability figures, without
    the studies (on a clone of the committed MinAtar runs: minutes, no training)."""
    input:
        report_outputs(),


rule attention:
    """The attention agent's strip and episode video of every game (its runs trained first)."""
    input:
        attention_outputs(),


rule runs:
    """Only the training runs of the config's agents x games x seeds (a chunk: --config games=[...])."""
    input:
        train_outputs(),


rule variant_runs:
    """Only the Table 2 variant runs."""
    input:
        variant_outputs("summary.json"),
