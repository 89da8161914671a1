package secrets

import "slices"

// The build systems' part of the deny-list: compilers, GNU make, autoconf
// and CMake. GNU make turns every environment variable into a make
// variable and expands its value as make code wherever the name is used,
// so $(shell ...) in a value runs a command: every variable make's own
// built-in rules use (make -p -f /dev/null lists them) is a way in, and so
// is a variable any project's Makefile uses, which no list can know (the
// README says to use Config.OnlyNames for such jobs).

// Sources and reasons used by several entries.
const (
	srcMakeVars     = "GNU make: Implicit Variables, Environment; https://www.gnu.org/software/make/manual/html_node/Implicit-Variables.html"
	srcGccOpts      = "gcc(1) -wrapper, -fplugin, -B; https://gcc.gnu.org/onlinedocs/gcc/Overall-Options.html"
	srcGccEnv       = "gcc(1) ENVIRONMENT; https://gcc.gnu.org/onlinedocs/gcc/Environment-Variables.html"
	srcMakeVar      = "GNU make: How the MAKE Variable Works (MAKE = $(MAKE_COMMAND) in make -p); https://www.gnu.org/software/make/manual/html_node/MAKE-Variable.html"
	srcSetupExt     = "setuptools: Building Extension Modules, Compiler and linker options; https://setuptools.pypa.io/en/latest/userguide/ext_modules.html"
	srcMakeEnv      = "GNU make: Variables from the Environment, Catalogue of Built-In Rules (make -p -f /dev/null prints the rules and their variables); https://www.gnu.org/software/make/manual/html_node/Catalogue-of-Rules.html"
	srcMakeSub      = "GNU make: Communicating Options to a Sub-make; https://www.gnu.org/software/make/manual/html_node/Options_002fRecursion.html"
	srcMakeVPATH    = "GNU make: VPATH: Search Path for All Prerequisites; https://www.gnu.org/software/make/manual/html_node/General-Search.html"
	srcAutoconf     = "autoconf manual: Site Defaults, The Autoconf Shell (CONFIG_SHELL); https://www.gnu.org/software/autoconf/manual/autoconf-2.71/html_node/Site-Defaults.html"
	srcAutoconfProg = "autoconf manual: Particular Program Checks (AC_PROG_AWK, AC_PROG_INSTALL, AC_PROG_RANLIB use a set variable as is); https://www.gnu.org/software/autoconf/manual/autoconf-2.71/html_node/Particular-Programs.html"
	srcLibtoolInit  = "libtool manual: LT_INIT (NM, RANLIB and the other programs it takes from the environment); https://www.gnu.org/software/libtool/manual/html_node/LT_005fINIT.html"
	srcReconf       = "autoreconf --help (the environment variables it honours); https://www.gnu.org/software/autoconf/manual/autoconf-2.71/html_node/autoreconf-Invocation.html"
	srcCMakeEnv     = "cmake-env-variables(7); https://cmake.org/cmake/help/latest/manual/cmake-env-variables.7.html"
)

const (
	whyCC        = "the compiler command that make's built-in rules, cgo, cargo's cc crate and pip's C extension builds run"
	whyFlags     = "compiler flags that make's rules, autotools, cargo's cc crate and pip pass to gcc: -wrapper runs a program around every compiler step, -fplugin loads a shared object"
	whyMakeProg  = "a program make's built-in rules run; make also expands the value as make code, so $(shell ...) in it runs a command wherever a rule uses the name"
	whyMakeCode  = "words make's built-in rules put on a command line: make expands the value as make code, so $(shell ...) in it runs a command when such a rule runs"
	whyConfProg  = "a program configure takes from the environment in place of the one it looks for, which the generated makefiles or libtool run"
	whyReconf    = "a program autoreconf (and the autotools it runs) starts in place of its own"
	whyCMakeLang = "the compiler cmake runs for a language a project enables"
)

// buildHijacks are the build systems' entries of the default deny-list.
var buildHijacks = slices.Concat([]hijack{
	// C toolchain and make.
	{"CC", false, "make, go (cgo), cargo, pip", whyCC + " (reproduced with make)", srcMakeVars + "; https://pkg.go.dev/cmd/cgo"},
	{"CXX", false, "make, go (cgo), cargo, pip", "the C++ compiler command the same tools run", srcMakeVars},
	{"CPP", false, "make", "the preprocessor command of make's built-in rules", srcMakeVars},
	{"AR", false, "make, cargo (cc crate)", "the archiver command these run", srcMakeVars},
	{"AS", false, "make", "the assembler command of make's built-in rules", srcMakeVars},
	{"LD", false, "make, autotools", "the linker command makefiles run", srcMakeVars},
	{"RM", false, "make", "the command clean rules run as $(RM)", srcMakeVars},
	{"MAKE", false, "make", "an environment value overrides $(MAKE), so a recursive $(MAKE) -C sub runs the editor's command (reproduced)", srcMakeVar},
	{"MAKE_COMMAND", false, "make", "MAKE is $(MAKE_COMMAND), so an environment value runs in every recursive $(MAKE) (reproduced)", srcMakeVar},
	{"LDSHARED", false, "python setuptools build_ext (pip's C extension builds)", "the command that links every extension module, replacing Python's configured linker (reproduced with setup.py build_ext)", srcSetupExt},
	{"LDCXXSHARED", false, "python setuptools build_ext (pip's C++ extension builds)", "the command that links C++ extension modules in setuptools releases with pypa/distutils#228 and in Debian's distutils (not reproduced: setuptools 65 here reads only LDSHARED)", srcSetupExt + "; https://github.com/pypa/distutils/pull/228"},
	{"CFLAGS", false, "make, autotools, cargo, pip", whyFlags + " (reproduced via make)", srcGccOpts},
	{"CXXFLAGS", false, "make, autotools, cargo, pip", whyFlags, srcGccOpts},
	{"CPPFLAGS", false, "make, autotools, pip", whyFlags, srcGccOpts},
	{"LDFLAGS", false, "make, autotools, pip", whyFlags, srcGccOpts},
	{"LDLIBS", false, "make", whyFlags, srcGccOpts},
	{"GCC_EXEC_PREFIX", false, "gcc", "where gcc finds the programs it runs (cc1, as, collect2)", srcGccEnv},
	{"COMPILER_PATH", false, "gcc", "directories gcc searches for the programs it runs", srcGccEnv},
	{"CPATH", false, "gcc, clang", "header directories searched before the system's: the editor's headers compile into every program built, tests included", srcGccEnv},
	{"C_INCLUDE_PATH", false, "gcc, clang", "header directories searched before the system's for C", srcGccEnv},
	{"CPLUS_INCLUDE_PATH", false, "gcc, clang", "header directories searched before the system's for C++", srcGccEnv},
	{"LIBRARY_PATH", false, "gcc", "library directories searched before the system's when linking: the editor's code links into every program built", srcGccEnv},
	{"PKG_CONFIG", false, "autoconf, meson, cargo (pkg-config crate)", "the pkg-config program these run", "https://docs.rs/pkg-config/latest/pkg_config/#environment-variables"},
	{"PKG_CONFIG_PATH", false, "pkg-config", ".pc files found there give builds their compiler flags (-wrapper, -fplugin); cgo checks them, make and cargo do not", "pkg-config(1) ENVIRONMENT; https://man.archlinux.org/man/pkg-config.1"},
	{"PKG_CONFIG_LIBDIR", false, "pkg-config", "replaces the default .pc directories, with the same effect", "pkg-config(1) ENVIRONMENT; https://man.archlinux.org/man/pkg-config.1"},
	{"CCACHE_PREFIX", false, "ccache", "a command ccache puts in front of every compiler run", "https://ccache.dev/manual/latest.html#config_prefix_command"},
	{"CCACHE_CONFIGPATH", false, "ccache", "the configuration file ccache reads in place of its own: prefix_command = <program> puts the program in front of every compiler run, as CCACHE_PREFIX does", "https://ccache.dev/manual/latest.html#_location_of_the_configuration"},
	{"CCACHE_DIR", false, "ccache", "the cache directory, whose ccache.conf is the configuration ccache reads (prefix_command, as CCACHE_CONFIGPATH's)", "https://ccache.dev/manual/latest.html#_location_of_the_configuration"},
	{"MAKEFLAGS", false, "make", "options and variable assignments for every make: SHELL=<program> runs every recipe through it (reproduced), --eval adds makefile text", "GNU make Options/Recursion; https://www.gnu.org/software/make/manual/html_node/Options_002fRecursion.html"},
	{"GNUMAKEFLAGS", false, "make", "as MAKEFLAGS, for GNU make only (reproduced)", "GNU make Options/Recursion; https://www.gnu.org/software/make/manual/html_node/Options_002fRecursion.html"},
	{"MAKEFILES", false, "make", "makefiles make reads before the others (reproduced)", "https://www.gnu.org/software/make/manual/html_node/MAKEFILES-Variable.html"},
	{"MAKEOVERRIDES", false, "make", "make puts it into the MAKEFLAGS it exports to every recipe, expanding it as make code: $(shell ...) runs with any makefile that has a recipe (reproduced)", srcMakeSub},
	{"VPATH", false, "make", "make expands it as make code when it searches for a file, so $(shell ...) runs with any makefile (reproduced), and takes prerequisites from the directories it names", srcMakeVPATH},
	{"GPATH", false, "make", "expanded as make code, as VPATH is, whenever make searches for a file", srcMakeVPATH},
	{"TARGET_ARCH", false, "make", "in every compile and link of the built-in rules (COMPILE.c, LINK.o): make expands it as make code, so $(shell ...) runs when a makefile builds hello from hello.o (reproduced)", srcMakeEnv},
	{"LOADLIBES", false, "make", "in the built-in link rules after the objects: make expands it as make code, so $(shell ...) runs when a makefile builds hello from hello.o (reproduced)", srcMakeEnv},

	// autoconf's configure scripts and autoreconf.
	{"CONFIG_SHELL", false, "configure (autoconf)", "every configure script autoconf generates re-runs itself with this program (reproduced)", srcAutoconf},
	{"CONFIG_SITE", false, "configure (autoconf)", "files every configure script sources as shell code before its tests (reproduced)", srcAutoconf},
	{"AWK", false, "configure (autoconf)", "AC_PROG_AWK takes the awk from it, and config.status runs $AWK -f to write every file configure makes (reproduced)", srcAutoconfProg},
	{"INSTALL", false, "configure (autoconf), make install", "AC_PROG_INSTALL takes the install program from it, and make install runs it through the generated makefiles' $(INSTALL) (reproduced)", srcAutoconfProg},
	{"RANLIB", false, "configure (autoconf), libtool", whyConfProg + ": ranlib on every static library", srcAutoconfProg + "; " + srcLibtoolInit},
	{"NM", false, "configure (libtool)", whyConfProg + ": nm when libtool links a library", srcLibtoolInit},
	{"STRIP", false, "configure (automake, libtool)", whyConfProg + ": strip at make install-strip and in libtool", "automake manual: Public Macros, AM_PROG_INSTALL_STRIP; https://www.gnu.org/software/automake/manual/html_node/Public-Macros.html"},
	{"AC_CV_", true, "configure (autoconf)", "configure takes ac_cv_* cache values from the environment (compared ignoring case): ac_cv_prog_CC names the compiler it runs (reproduced), others the programs and answers of its checks", "autoconf manual: Cache Variable Names; https://www.gnu.org/software/autoconf/manual/autoconf-2.71/html_node/Cache-Variable-Names.html"},

	// CMake.
	{"CMAKE_", true, "cmake", "cmake reads CMAKE_* variables from the environment: CMAKE_TOOLCHAIN_FILE is CMake code it runs at a first configure, execute_process included (reproduced), CMAKE_<LANG>_COMPILER_LAUNCHER and CMAKE_<LANG>_LINKER_LAUNCHER are programs run around every compile and link (reproduced), CMAKE_CROSSCOMPILING_EMULATOR runs built programs, CMAKE_PREFIX_PATH and CMAKE_PROGRAM_PATH are searched first for package files (CMake code) and programs; the prefix takes the rest (CMAKE_BUILD_TYPE), which a host can allow", srcCMakeEnv},
},
	makeRule(whyMakeProg, "CO", "CTANGLE", "CWEAVE", "F77", "FC", "GET", "LEX", "LINT", "M2C", "MAKEINFO", "OBJC", "PC", "TANGLE", "TEX", "TEXI2DVI", "WEAVE", "YACC"),
	makeRule(whyMakeCode, "ARFLAGS", "ASFLAGS", "COFLAGS", "DEFFLAGS", "F77FLAGS", "FFLAGS", "GFLAGS", "LFLAGS", "LINTFLAGS",
		"M2FLAGS", "MAKEINFO_FLAGS", "MODFLAGS", "OBJCFLAGS", "OUTPUT_OPTION", "PFLAGS", "RFLAGS", "SCCS_OUTPUT_OPTION",
		"TARGET_MACH", "TEXI2DVI_FLAGS", "YFLAGS"),
	tool("autoreconf", whyReconf, srcReconf, "ACLOCAL", "AUTOCONF", "AUTOHEADER", "AUTOM4TE", "AUTOMAKE", "AUTOPOINT", "GTKDOCIZE", "INTLTOOLIZE", "LIBTOOLIZE", "M4"),
	tool("cmake", whyCMakeLang, srcCMakeEnv+" (Environment Variables for Languages)", "ASM", "ASM_NASM", "ASM_MASM", "CUDACXX", "CUDAHOSTCXX", "HIPCXX", "HIPHOSTCXX", "ISPC", "OBJCXX", "SWIFTC"),
)

// makeRule is the entries of variables make's built-in rules use.
func makeRule(reason string, names ...string) []hijack {
	return tool("make", reason, srcMakeEnv, names...)
}

// tool is the entries of names that one program reads alike.
func tool(program, reason, source string, names ...string) []hijack {
	out := make([]hijack, len(names))
	for i, n := range names {
		out[i] = hijack{name: n, program: program, reason: reason, source: source}
	}
	return out
}
