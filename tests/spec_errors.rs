//! Malformed configs through the binary: each exits non-zero with a message naming the
//! file:line (or the env var / --set flag) and never panics.

use std::path::Path;
use std::process::Command;

/// (name, file text, extra args, env, text the message must contain)
type Case = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

const CASES: &[Case] = &[
    (
        "syntax_header",
        "[train\nepochs = 5\n",
        &[],
        &[],
        "syntax_header.toml:1:",
    ),
    (
        "syntax_value",
        "[train]\nepochs = \n",
        &[],
        &[],
        "syntax_value.toml:2:",
    ),
    (
        "syntax_dup",
        "[train]\nepochs = 1\nepochs = 2\n",
        &[],
        &[],
        "syntax_dup.toml:3:",
    ),
    (
        "unknown_section",
        "[trian]\nepochs = 5\n",
        &[],
        &[],
        "unknown_section.toml:1:2: unknown key `trian`; did you mean `train`?",
    ),
    (
        "unknown_train_key",
        "[train]\nepoch = 5\n",
        &[],
        &[],
        "unknown_train_key.toml:2:1: unknown key `train.epoch`; did you mean `train.epochs`?",
    ),
    (
        "threshold_without_selflabel",
        "[loss]\nthreshold = 0.9\n",
        &[],
        &[],
        "`loss.threshold`: applies only to `loss.kind = \"selflabel\"`; remove it",
    ),
    (
        "selflabel_heads",
        "[loss]\nkind = \"selflabel\"\n[heads]\ncount = 3\n",
        &[],
        &[],
        "`heads.count`: `loss.kind = \"selflabel\"` trains one head",
    ),
    (
        "override_of_a_stage_key",
        "[[stages]]\nname = \"a\"\nset = { \"heads.count\" = 2 }\n",
        &["--set", "heads.count=3"],
        &[],
        "--set heads.count=3: `heads.count`: stage `a` sets `heads.count` itself",
    ),
    (
        "stage_named_twice",
        "[[stages]]\nname = \"a\"\n[[stages]]\nname = \"a\"\n",
        &[],
        &[],
        "stage_named_twice.toml:1:3: `stages`: stage `a` is named twice",
    ),
    (
        "stage_changes_seed",
        "[[stages]]\nname = \"a\"\nset = { \"pipeline.seed\" = 2 }\n",
        &[],
        &[],
        "stage `a` cannot change `pipeline.seed`",
    ),
    (
        "stage_unknown_key",
        "[[stages]]\nname = \"a\"\nset = { \"train.epohs\" = 2 }\n",
        &[],
        &[],
        "stage `a`: unknown key `train.epohs`; did you mean `train.epochs`?",
    ),
    (
        "stage_later_init_from",
        "[[stages]]\nname = \"a\"\n[[stages]]\nname = \"b\"\nset = { \"train.init_from\" = \"x\" }\n",
        &[],
        &[],
        "stage `b` cannot set `train.init_from`: a later stage starts from the stage before",
    ),
    (
        // The first stage may start from another run; its `set` is read, not dropped.
        "first_stage_init_from",
        "[[stages]]\nname = \"a\"\nset = { \"train.init_from\" = \"no/such/run\" }\n[[stages]]\nname = \"b\"\n",
        &[],
        &[],
        "`train.init_from` = no/such/run: no such folder",
    ),
    (
        "init_from_on_mine",
        "[loss]\nkind = \"mine\"\n[train]\ninit_from = \"x\"\n",
        &[],
        &[],
        "init_from_on_mine.toml:4:1: `train.init_from`: applies only to IIC",
    ),
    (
        "init_from_missing",
        "[train]\ninit_from = \"no/such/run\"\n",
        &[],
        &[],
        "`train.init_from` = no/such/run: no such folder",
    ),
    (
        "stage_other_trunk",
        "[[stages]]\nname = \"a\"\n[[stages]]\nname = \"b\"\nset = { \"backbone.cfg\" = [8, \"M\", 16] }\n",
        &[],
        &[],
        "stage `b`: `backbone` differs from stage `a`'s",
    ),
    (
        // A quoted key with a dot is one TOML key: it is named where its table is, not as a
        // "default" (found by the fuzzer).
        "quoted_dotted_key",
        "[augment.rotate]\n\"heads.count\" = 2\n",
        &[],
        &[],
        "quoted_dotted_key.toml:1:10: unknown key `augment.rotate.heads.count`",
    ),
    (
        "unknown_heads_key",
        "[heads]\ncont = 5\n",
        &[],
        &[],
        "did you mean `heads.count`?",
    ),
    (
        "unknown_nested_key",
        "[augment.rotate]\nmax_degree = 5\n",
        &[],
        &[],
        "augment.rotate.max_degrees",
    ),
    (
        "unknown_top_key",
        "epochs = 5\n",
        &[],
        &[],
        "unknown key `epochs`",
    ),
    (
        "wrong_type_epochs",
        "[train]\nepochs = \"many\"\n",
        &[],
        &[],
        "wrong_type_epochs.toml:2:1: `train.epochs`: invalid type",
    ),
    (
        "wrong_type_lr",
        "[train]\nlr = \"fast\"\n",
        &[],
        &[],
        "`train.lr`",
    ),
    (
        "wrong_type_bn",
        "[backbone]\nbatch_norm = 3\n",
        &[],
        &[],
        "`backbone.batch_norm`",
    ),
    (
        "negative_count",
        "[heads]\ncount = -1\n",
        &[],
        &[],
        "`heads.count`",
    ),
    (
        "zero_heads",
        "[heads]\ncount = 0\n",
        &[],
        &[],
        "zero_heads.toml:2:1: `heads.count`: expected at least 1",
    ),
    (
        "batch_one",
        "[train]\nbatch_size = 1\n",
        &[],
        &[],
        "batch_one.toml:2:1: `train.batch_size`",
    ),
    (
        "negative_lr",
        "[train]\nlr = -0.1\n",
        &[],
        &[],
        "negative_lr.toml:2:1: `train.lr`: expected a positive number",
    ),
    (
        "crop_too_big",
        "[augment.random_crop]\nsizes = [16, 40]\n",
        &[],
        &[],
        "crop_too_big.toml:2:1: `augment.random_crop.sizes`",
    ),
    (
        "size_too_big",
        "[augment]\nsize = 32\n",
        &[],
        &[],
        "`augment.size`",
    ),
    (
        "bad_cfg_token",
        "[backbone]\ncfg = [64, \"X\"]\n",
        &[],
        &[],
        "bad_cfg_token.toml:2:1: `backbone.cfg`: entry 1",
    ),
    (
        "bad_cfg_zero",
        "[backbone]\ncfg = [0, \"M\"]\n",
        &[],
        &[],
        "`backbone.cfg`: entry 0",
    ),
    (
        "empty_cfg",
        "[backbone]\ncfg = []\n",
        &[],
        &[],
        "`backbone.cfg`: expected at least one convolution",
    ),
    (
        "unknown_named_cfg",
        "[backbone]\ncfg = \"Z\"\n",
        &[],
        &[],
        "unknown named config \"Z\"",
    ),
    (
        "too_many_pools",
        "[backbone]\ncfg = \"A\"\n",
        &[],
        &[],
        "too many \"M\" pools",
    ),
    (
        "even_kernel",
        "[backbone]\nkernel_size = 4\n",
        &[],
        &[],
        "`backbone.kernel_size`",
    ),
    (
        "unknown_dataset",
        "[dataset]\nkind = \"cifar\"\n",
        &[],
        &[],
        "`dataset.kind`",
    ),
    (
        "unknown_loss",
        "[loss]\nkind = \"mien\"\n",
        &[],
        &[],
        "`loss.kind`",
    ),
    (
        "train_size_zero",
        "[dataset]\ntrain_size = 0\n",
        &[],
        &[],
        "`dataset.train_size`",
    ),
    (
        "subset_below_batch",
        "[dataset]\ntrain_size = 100\n",
        &[],
        &[],
        "fewer than one batch",
    ),
    (
        "missing_extends",
        "extends = \"nope.toml\"\n",
        &[],
        &[],
        "missing_extends.toml:1:1: `extends`: no such file",
    ),
    (
        "extends_not_string",
        "extends = 3\n",
        &[],
        &[],
        "`extends`: expected a file path string",
    ),
    (
        "prob_out_of_range",
        "[augment.random_crop]\ncentre_prob = 1.5\n",
        &[],
        &[],
        "`augment.random_crop.centre_prob`",
    ),
    (
        "env_wrong_value",
        "",
        &[],
        &[("MIRUN_TRAIN__EPOCHS", "abc")],
        "env MIRUN_TRAIN__EPOCHS: `train.epochs`",
    ),
    (
        "env_unknown_key",
        "",
        &[],
        &[("MIRUN_TRAIN__EPOCH", "3")],
        "env MIRUN_TRAIN__EPOCH: unknown key `train.epoch`",
    ),
    (
        "env_impossible",
        "",
        &[],
        &[("MIRUN_HEADS__COUNT", "0")],
        "env MIRUN_HEADS__COUNT: `heads.count`",
    ),
    (
        "set_unknown_key",
        "",
        &["--set", "heads.cont=2"],
        &[],
        "--set heads.cont=2: unknown key `heads.cont`; did you mean `heads.count`?",
    ),
    (
        // A table that does not exist, made by an override, names the override, not the file.
        "set_unknown_section",
        "",
        &["--set", "nosuch.key=1"],
        &[],
        "--set nosuch.key=1: unknown key `nosuch`",
    ),
    (
        "env_unknown_section",
        "",
        &[],
        &[("MIRUN_NOSUCH__KEY", "1")],
        "env MIRUN_NOSUCH__KEY: unknown key `nosuch`",
    ),
    (
        // `[sweep]` is the file's; the sweep's own flags set it on the command line.
        "set_sweep_section",
        "",
        &["--set", "sweep.seeds=[1, 2]"],
        &[],
        "--set sweep.seeds=[1, 2]: `sweep` is read from the pipeline file only; on the command line use `mirun sweep --grid`, `--zip`, `--seeds` or `--launcher`",
    ),
    (
        "set_wrong_type",
        "",
        &["--set", "train.epochs=[1]"],
        &[],
        "--set train.epochs=[1]: `train.epochs`",
    ),
    (
        "set_no_equals",
        "",
        &["--set", "train.epochs"],
        &[],
        "expected `section.key=value`",
    ),
    (
        "set_impossible",
        "",
        &["--set", "train.lr=-1"],
        &[],
        "--set train.lr=-1: `train.lr`",
    ),
    (
        "gaussian_with_iic",
        "[dataset]\nkind = \"gaussian\"\n",
        &[],
        &[],
        "gaussian_with_iic.toml:2:1: `dataset.kind`",
    ),
    (
        "gaussian_rho_one",
        "[dataset]\nkind = \"gaussian\"\ncov_xy = 1.0\n[loss]\nkind = \"mine\"\n",
        &[],
        &[],
        "gaussian_rho_one.toml:3:1: `dataset.cov_xy`: expected a correlation in (-1, 1)",
    ),
    (
        "gaussian_dim_zero",
        "[dataset]\nkind = \"gaussian\"\ndim = 0\n[loss]\nkind = \"nwj\"\n",
        &[],
        &[],
        "`dataset.dim`: expected at least 1",
    ),
    (
        "gaussian_train_size",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"mine\"\n[train]\nsteps = 10\n",
        &["--set", "dataset.train_size=100"],
        &[],
        "--set dataset.train_size=100: `dataset.train_size`: applies only to image data sets",
    ),
    (
        "gaussian_hungarian",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"mine\"\n[evaluator]\nkind = \"hungarian\"\n",
        &[],
        &[],
        "`hungarian` does not apply to this pipeline; expected some of: analytic_mi, binned_mi",
    ),
    (
        "gaussian_bins_one",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"mine\"\n[evaluator]\nbins = 1\n",
        &[],
        &[],
        "`evaluator.bins`: expected at least 2 bins",
    ),
    (
        "gaussian_few_samples",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"mine\"\n[evaluator]\nbinned_samples = 10\n",
        &[],
        &[],
        "`evaluator.binned_samples`: expected at least 1000",
    ),
    (
        "ema_rate_on_mine",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"mine\"\nema_rate = 0.1\n",
        &[],
        &[],
        "`loss.ema_rate`: applies only to loss.kind = \"mine_ema\"",
    ),
    (
        "copies_zero",
        "[augment]\ncopies = 0\n",
        &[],
        &[],
        "`augment.copies`: expected 1..=16 transformed twins per image, got 0",
    ),
    (
        "train_on_gaussian",
        "[dataset]\nkind = \"gaussian\"\ntrain_on = \"train+test\"\n[loss]\nkind = \"mine\"\n",
        &[],
        &[],
        "`dataset.train_on`: applies only to image data sets",
    ),
    (
        "train_on_unknown",
        "[dataset]\ntrain_on = \"test\"\n",
        &[],
        &[],
        "`dataset.train_on`",
    ),
    (
        "batch_norm_eval_without_batch_norm",
        "[backbone]\nbatch_norm = false\nbatch_norm_eval = \"batch\"\n",
        &[],
        &[],
        "`backbone.batch_norm_eval`: applies only to image pipelines with backbone.batch_norm = true",
    ),
    (
        "lottery_margin_alone",
        "[heads]\nlottery_margin = 0.1\n",
        &[],
        &[],
        "`heads.lottery_margin`: applies only with `heads.lottery_every` set",
    ),
    (
        "merge_without_surplus_clusters",
        "[heads]\nmerge = \"mi\"\n",
        &[],
        &[],
        "`heads.merge`: applies only to heads with more clusters than the 10 classes",
    ),
    (
        "merge_on_mine",
        "[loss]\nkind = \"mine\"\n[heads]\nclusters = 12\nmerge = \"mi\"\n",
        &[],
        &[],
        "`heads.merge`: applies only to IIC",
    ),
    (
        "merge_unknown_rule",
        "[heads]\nclusters = 12\nmerge = \"nearest\"\n",
        &[],
        &[],
        "`heads.merge`",
    ),
    (
        "lottery_on_mine",
        "[loss]\nkind = \"mine\"\n[heads]\nlottery_every = 10\n",
        &[],
        &[],
        "`heads.lottery_every`: applies only to IIC",
    ),
    (
        "copies_on_gaussian",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"mine\"\n[augment]\ncopies = 4\n",
        &[],
        &[],
        "`augment.copies`: applies only to IIC",
    ),
    (
        "view_crop_too_big",
        "[[augment.transformed]]\nop = \"crop\"\nsizes = [20]\n[[augment.transformed]]\nop = \"crop\"\nsizes = [24]\n",
        &[],
        &[],
        "`augment.transformed[1].sizes`: crop size 24 must be within 1..=20 (the image's side at this step)",
    ),
    (
        "view_probability",
        "[[augment.original]]\nop = \"rotate\"\nmax_degrees = 25\np = 1.5\n",
        &[],
        &[],
        "`augment.original[0].p`: expected a probability in [0, 1], got 1.5",
    ),
    (
        "view_original_without_eval",
        "[[augment.original]]\nop = \"crop\"\nsizes = [20]\n",
        &[],
        &[],
        "`augment.eval`: with a declared augment.original, declare the evaluation view too",
    ),
    (
        "view_eval_random",
        "[[augment.eval]]\nop = \"jitter\"\nbrightness = 0.4\n",
        &[],
        &[],
        "`augment.eval[0].op`: the evaluation view must be the same every time: no jitter there",
    ),
    (
        "view_eval_random_crop",
        "[[augment.eval]]\nop = \"crop\"\nsizes = [20]\n",
        &[],
        &[],
        "`augment.eval[0].op`: the evaluation view must be the same every time: a crop there needs one size, centre_prob = 1 and p = 1",
    ),
    (
        "view_eval_affine",
        "[[augment.eval]]\nop = \"affine\"\nshear = 10\n",
        &[],
        &[],
        "`augment.eval[0].op`: the evaluation view must be the same every time: no affine there",
    ),
    (
        "view_affine_too_strong",
        "[[augment.transformed]]\nop = \"affine\"\nshear = 60\nscale = 0.6\n",
        &[],
        &[],
        "`augment.transformed[0].shear`: expected degrees in [0, 45], got 60",
    ),
    (
        "view_affine_scale_too_strong",
        "[[augment.transformed]]\nop = \"affine\"\nshear = 60\nscale = 0.6\n",
        &[],
        &[],
        "`augment.transformed[0].scale`: expected a strength in [0, 0.5), got 0.6",
    ),
    (
        "view_affine_does_nothing",
        "[[augment.transformed]]\nop = \"affine\"\n",
        &[],
        &[],
        "`augment.transformed[0].op`: an affine step needs `shear` or `scale` above 0",
    ),
    (
        "view_eval_erase",
        "[[augment.eval]]\nop = \"erase\"\nsize = 0.3\n",
        &[],
        &[],
        "`augment.eval[0].op`: the evaluation view must be the same every time: no erasing there",
    ),
    (
        "view_erase_size",
        "[[augment.transformed]]\nop = \"erase\"\nsize = 1.5\n",
        &[],
        &[],
        "`augment.transformed[0].size`: expected a fraction of the side in (0, 1], got 1.5",
    ),
    (
        "view_eval_stripe",
        "[[augment.eval]]\nop = \"stripe\"\nheight = 0.1\n",
        &[],
        &[],
        "`augment.eval[0].op`: the evaluation view must be the same every time: no erasing there",
    ),
    (
        "view_stripe_height",
        "[[augment.transformed]]\nop = \"stripe\"\nheight = 0\n",
        &[],
        &[],
        "`augment.transformed[0].height`: expected a fraction of the side in (0, 1], got 0",
    ),
    (
        "view_unknown_op",
        "[[augment.transformed]]\nop = \"warp\"\n",
        &[],
        &[],
        "warp",
    ),
    (
        "view_unknown_key",
        "[[augment.transformed]]\nop = \"jitter\"\nhue = 0.1\n",
        &[],
        &[],
        "hue",
    ),
    (
        "overcluster_one",
        "[heads]\novercluster = 1\n",
        &[],
        &[],
        "`heads.overcluster`: expected at least 2, got 1",
    ),
    (
        "overcluster_on_mine_images",
        "[loss]\nkind = \"mine\"\n[heads]\novercluster = 50\n",
        &[],
        &[],
        "`heads.overcluster`: applies only to IIC",
    ),
    (
        "aux_schedule_without_overcluster",
        "[heads]\naux_schedule = \"joint\"\n",
        &[],
        &[],
        "`heads.aux_schedule`: applies only with `heads.overcluster` set",
    ),
    (
        "aux_schedule_unknown",
        "[heads]\novercluster = 50\naux_schedule = \"sometimes\"\n",
        &[],
        &[],
        "aux_schedule",
    ),
    (
        "ema_rate_out_of_range",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"mine_ema\"\nema_rate = 2.0\n",
        &[],
        &[],
        "`loss.ema_rate`: expected a rate in (0, 1]",
    ),
    (
        "latent_on_iic",
        "[model]\nlatent_dim = 10\n",
        &[],
        &[],
        "latent_on_iic.toml:2:1: `model.latent_dim`: applies only to MINE on images",
    ),
    (
        "latent_zero",
        "[loss]\nkind = \"mine\"\n[model]\nlatent_dim = 0\n",
        &[],
        &[],
        "`model.latent_dim`: expected at least 1, got 0",
    ),
    (
        "steps_on_mnist",
        "[train]\nsteps = 100\n",
        &[],
        &[],
        "`train.steps`: applies only to dataset.kind = \"gaussian\"",
    ),
    (
        "probe_on_iic",
        "[evaluator]\nkind = \"linear_probe\"\n",
        &[],
        &[],
        "`linear_probe` does not apply",
    ),
    (
        // Every MINE bound is offered (the list comes from LossKind::MINE), and the wrong one named.
        "gaussian_with_selflabel",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"selflabel\"\n",
        &[],
        &[],
        "`dataset.kind`: the gaussian data set needs a MINE loss: set `loss.kind` to one of `mine`, `mine_ema`, `nwj`, `infonce` (`selflabel` clusters images)",
    ),
    (
        "probe_epochs_on_iic",
        "[evaluator]\nprobe_epochs = 3\n",
        &[],
        &[],
        "`evaluator.probe_epochs`: applies only to the `linear_probe` evaluator",
    ),
    (
        "unknown_marginal",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"mine\"\n[dataset.marginal]\n",
        &[],
        &[],
        "`dataset.marginal`",
    ),
    (
        "sweep_not_table",
        "[heads]\ncount = 2\n[sweep]\ngrid = 3\n",
        &[],
        &[],
        "sweep_not_table.toml:4:1: `sweep.grid` must be a table",
    ),
    (
        "sweep_unknown_key",
        "[sweep]\ngird = { \"heads.count\" = [1, 2] }\n",
        &[],
        &[],
        "unknown key `sweep.gird`; expected `grid`, `zip` or `seeds`",
    ),
    (
        "sweep_empty_axis",
        "[sweep]\ngrid = { \"heads.count\" = [] }\n",
        &[],
        &[],
        "expected at least one value",
    ),
    (
        "sweep_bad_range",
        "[sweep]\ngrid = { \"heads.count\" = \"range(5, 1)\" }\n",
        &[],
        &[],
        "`range(5, 1)` is empty",
    ),
    (
        "sweep_bad_point",
        "[sweep]\ngrid = { \"heads.count\" = [1, 0] }\n",
        &[],
        &[],
        "point 2 (heads.count=0): ",
    ),
    (
        "sweep_unknown_key_in_grid",
        "[sweep]\ngrid = { \"heads.cuont\" = [1, 2] }\n",
        &[],
        &[],
        "did you mean `heads.count`?",
    ),
    (
        "heads_absurd",
        "[heads]\ncount = 100000000\n",
        &[],
        &[],
        "`heads.count`: this pipeline would need about",
    ),
    (
        "heads_absurd_names_the_clusters",
        "[heads]\ncount = 100000000\n",
        &[],
        &[],
        "features × 10 clusters with Adam, and their outputs",
    ),
    (
        "heads_absurd_with_overclustering",
        "[heads]\ncount = 100000000\novercluster = 50\n",
        &[],
        &[],
        "features × (10 + 50 over-clustering) clusters with Adam",
    ),
    (
        "infonce_batch_absurd",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"infonce\"\n[train]\nbatch_size = 1000000\n",
        &[],
        &[],
        "`train.batch_size`: this pipeline would need about",
    ),
    (
        "memory_limit_zero",
        "[train]\nmemory_limit_gib = 0\n",
        &[],
        &[],
        "`train.memory_limit_gib`: expected a positive number of GiB, got 0",
    ),
    (
        "dataset_dir_is_a_file",
        "[dataset]\ndir = \"dataset_dir_is_a_file.toml\"\n",
        &[],
        &[],
        "`dataset.dir`: ",
    ),
    (
        "out_is_a_file",
        "[dataset]\nkind = \"gaussian\"\n[loss]\nkind = \"mine\"\n",
        &["--out", "out_is_a_file.toml"],
        &[],
        "results root (--out): out_is_a_file.toml is a file, expected a directory",
    ),
    (
        "sweep_zip_lengths",
        "[sweep]\nzip = { \"heads.count\" = [1, 2], \"train.lr\" = [0.1] }\n",
        &[],
        &[],
        "zipped keys must have equal lengths",
    ),
    (
        "sweep_seed_twice",
        "[sweep]\ngrid = { \"pipeline.seed\" = [1, 2] }\nseeds = [1]\n",
        &[],
        &[],
        "`pipeline.seed` is swept by `seeds`",
    ),
    (
        "sweep_name",
        "[sweep]\ngrid = { \"pipeline.name\" = [\"a\", \"b\"] }\n",
        &[],
        &[],
        "`pipeline.name` cannot be swept",
    ),
    (
        "sweep_negative_seed",
        "[sweep]\nseeds = [-1]\n",
        &[],
        &[],
        "expected non-negative integers",
    ),
];

fn run(dir: &Path, name: &str, text: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mirun"));
    cmd.arg("check").arg(&file).args(args).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), all)
}

#[test]
fn every_malformed_config_is_a_clear_error() {
    assert!(CASES.len() >= 20);
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, text, args, env, expect) in CASES {
        let (ok, out) = run(dir.path(), name, text, args, env);
        if ok || !out.contains(expect) || out.contains("panicked") || out.contains("internal error")
        {
            failures.push(format!("{name}: ok={ok}, expected `{expect}` in:\n{out}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn check_reports_every_problem_of_every_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        "[heads]\ncount = 0\n[train]\nbatch_size = 1\nlr = 0.0\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b.toml"), "[train]\nepoch = 5\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mirun"))
        .args(["check", "a.toml", "b.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success());
    for needle in ["a.toml:2:1", "a.toml:4:1", "a.toml:5:1", "b.toml:2:1"] {
        assert!(out.contains(needle), "missing {needle}:\n{out}");
    }
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 of 2"));
}

#[test]
fn shipped_pipelines_pass_check() {
    let files: Vec<_> = std::fs::read_dir("pipelines")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let o = Command::new(env!("CARGO_BIN_EXE_mirun"))
        .arg("check")
        .args(&files)
        .env(
            "MIRUN_DATA_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data"),
        )
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    // ... and every one plans without training: `run --dry-run`, or `sweep --dry-run` for
    // the ones with a [sweep].
    let out = tempfile::tempdir().unwrap();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let cmd = if text.contains("[sweep]") {
            "sweep"
        } else {
            "run"
        };
        let o = Command::new(env!("CARGO_BIN_EXE_mirun"))
            .args([cmd, f.to_str().unwrap(), "--dry-run", "--out"])
            .arg(out.path())
            .env(
                "MIRUN_DATA_DIR",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("data"),
            )
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{}: {stdout}{}",
            f.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            stdout.contains("run ") || stdout.contains("new"),
            "{}: {stdout}",
            f.display()
        );
    }
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "dry runs write nothing"
    );
}

#[test]
fn schema_is_json_listing_the_sections() {
    let o = Command::new(env!("CARGO_BIN_EXE_mirun"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let props = v["properties"].as_object().unwrap();
    for s in [
        "pipeline",
        "dataset",
        "augment",
        "backbone",
        "heads",
        "loss",
        "evaluator",
        "train",
        "extends",
    ] {
        assert!(props.contains_key(s), "{s}");
    }
}
