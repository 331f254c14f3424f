# Regenerates the paper's Table 1 and Figure 8 (plus an rliable aggregate and a verdict table)
# from DDQN and i-DQN runs.
#   snakemake --cores 16 all                                   paper budget (48 x 10M frames)
#   snakemake --profile workflow/profiles/smoke all            tiny budgets, minutes on 2 cores
#   snakemake --profile workflow/profiles/slurm all            a Slurm cluster
from snakemake.utils import min_version, validate

min_version("8.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"


check_training_configs()  # every preset and --set item, resolved before any job runs


include: "workflow/rules/train.smk"
include: "workflow/rules/reports.smk"


rule all:
    input:
        report_outputs(),
    default_target: True
