// Every UI string the walks look for, by language. Locators find fields by their label and
// buttons, links and headings by their accessible name, so a restyle that keeps the wording keeps
// the walks working. A Spanish walk is added by filling in `es` with the same keys and running
// with E2E_LANG=es (the walks then also call assertNoEnglish on every page).
//
// A value is a string (matched as a case-insensitive substring, like Playwright's getByRole and
// getByLabel) or a RegExp where a substring would be ambiguous on its page.

export const strings = {
  en: {
    common: {
      signOut: 'Sign out',
    },
    login: {
      heading: 'Sign in',
      email: 'Email address',
      password: /^Password$/i,
      submit: /^Sign in$/i,
      createAccount: 'Create an account',
      forgot: 'Forgot your password?',
    },
    interrupted: {
      heading: 'Your sign-in was interrupted',
      restart: 'Start again and continue to',
    },
    signup: {
      heading: 'Create an account',
      email: 'Email address',
      terms: 'I accept the terms of service',
      submit: /^Create account$/i,
    },
    checkEmail: {
      heading: 'Check your email',
    },
    choosePassword: {
      heading: 'Choose your password',
      password: /^Password$/i,
      again: 'Type the password again',
      submit: /^Create account$/i,
    },
    emailConfirmed: {
      heading: 'Email confirmed',
      continue: 'Continue to sign in',
    },
    mfaSetup: {
      heading: 'Add a second way to sign in',
      phone: 'Text message or phone call',
    },
    phoneEnrol: {
      heading: 'Add a phone number',
      number: 'Phone number',
      sms: 'Text message (SMS)',
      send: 'Send code',
      code: 'Security code',
      confirm: /^Confirm$/i,
    },
    another: {
      heading: 'Add a backup method',
      addApp: 'Add an authenticator app',
      skip: 'Skip for now',
    },
    account: {
      heading: 'Your account',
      addApp: 'Add an authenticator app',
      // The phone's "Change" link, not "Change your password".
      changePhone: /^Change(?!\s+your)/i,
    },
    totp: {
      heading: 'Add an authenticator app',
      code: 'Code from your app',
      confirm: /^Confirm$/i,
    },
    consent: {
      heading: /^Allow .+ to use your .+ account\?$/i,
      allow: /^Allow$/i,
    },
    stepUp: {
      heading: "Confirm it's you",
      password: /^Password$/i,
      continue: /^Continue$/i,
    },
    challenge: {
      heading: "Confirm it's you",
      appCode: 'Code from your app',
      continue: /^Continue$/i,
      lostPhone: "I don't have my phone",
      // Shown when a phone was added or changed within the SIM-swap cooldown.
      cooldown: "can't be used on its own to reset your password",
    },
    phoneChange: {
      numberHeading: /^Change /i,
      newNumber: 'New phone number',
      sms: 'Text message (SMS)',
      send: 'Send code',
      codeHeading: 'Enter the code',
      code: 'Security code',
      continue: /^Continue$/i,
      reviewHeading: 'Check and confirm',
      confirm: /^Confirm$/i,
      doneHeading: 'Phone number updated',
      receiptNote: 'Keep this page as your receipt',
    },
    forgot: {
      heading: 'Reset your password',
      email: 'Email address',
      submit: 'Send reset link',
      sent: 'belongs to an account',
    },
    newPassword: {
      heading: 'Choose a new password',
      password: /^New password$/i,
      again: 'Type it again',
      submit: 'Set new password',
      doneHeading: 'Password changed',
      signIn: /^Sign in$/i,
    },
    lostPhone: {
      heading: "Don't have your phone?",
      useApp: 'Use your authenticator app',
      reset: 'Reset my sign-in methods',
      emailed: "We've emailed a link",
    },
    accountReset: {
      heading: 'Reset your sign-in methods',
      confirm: 'Confirm the account reset',
      waiting: 'Your account reset is waiting',
    },
    keys: {
      setupPasskey: 'Passkey (face, fingerprint or screen lock)',
      consoleHeading: 'Security keys and passkeys',
      none: "You haven't added any.",
      addPasskey: 'Add a passkey',
      addHeading: 'Add a passkey',
      name: /^Name$/i,
      create: 'Create a passkey',
      kindPasskey: 'Passkey',
      neverUsed: 'Not used yet',
      remove: /^Remove$/i,
      signInWithPasskey: 'Sign in with a passkey',
      useKey: 'Use my security key or passkey',
    },
    home: {
      heading: 'Your account',
      manage: 'Manage your account',
    },
    verify: {
      consoleLink: 'Verify your identity',
      startHeading: 'Verify your identity',
      consent: 'I agree that my information is checked',
      start: 'Agree and continue',
      documentHeading: 'Add photos of your ID',
      driversLicense: "Driver's license",
      front: 'Front of your license or ID',
      back: 'Back of your license or ID',
      continue: /^Continue$/i,
      expired: 'This document has expired',
      selfieHeading: 'Take a selfie',
      selfie: 'Your selfie',
      ssnHeading: 'Enter your Social Security number',
      ssn: /^Social Security number$/i,
      reviewHeading: 'Check your information',
      reviewName: 'Name',
      reviewSsn: 'Social Security number',
      verifyButton: /^Verify$/i,
      phoneHeading: 'Confirm your phone',
      sendCode: 'Send code',
      codeHeading: 'Enter the code we sent',
      code: 'Security code',
      finish: /^Finish$/i,
      doneHeading: 'Your identity is verified',
      protectHeading: 'Protect your verified information',
      password: /^Password$/,
      protectButton: 'Lock my information',
      personalKeyHeading: 'Save your personal key',
      personalKeySaved: 'I saved my personal key, continue',
      personalKeyDownload: 'Download as a text file',
      unlockHeading: 'Enter your password to share your verified information',
      unlockButton: /^Continue$/,
      newPersonalKey: 'Make a new personal key',
      vault: 'Your verified information is locked with your password and your personal key',
      suspended: 'your verified identity is locked until you enter your personal key',
      restoreLink: 'Enter my personal key',
      restoreHeading: 'Restore your verified identity',
      personalKey: /^Personal key/,
      restoreButton: 'Restore my verified identity',
      makeBackupCodes: /^Make (new )?backup codes$/,
      backupCodesSaved: "I've saved my codes",
      backupCode: /^Backup code$/,
      mfaContinue: /^Continue$/,
      verifiedOn: 'Verified on',
      backToAccount: 'Back to your account',
      removeData: 'Remove my verified data',
      phoneOther: /^Another number$/i,
      phoneNumber: 'Phone number',
      notAssociated: "We couldn't confirm that this phone number is in your name",
      letterRequest: 'Send me a letter instead',
      letterHeading: 'Enter the code from your letter',
      letterRequested: 'Letter requested on',
      letterSent: 'Letter sent on',
      letterCode: 'Code from the letter',
      letterWrong: "That code doesn't match your letter",
    },
  },
  // Spanish: the same keys, from locales/es/*.ftl.
  es: {
    common: {
      signOut: 'Cerrar sesión',
    },
    login: {
      heading: 'Iniciar sesión',
      email: 'Correo electrónico',
      password: /^Contraseña$/i,
      submit: /^Iniciar sesión$/i,
      createAccount: 'Crear una cuenta',
      forgot: '¿Olvidó su contraseña?',
    },
    interrupted: {
      heading: 'Se interrumpió su inicio de sesión',
      restart: 'Empezar de nuevo y continuar a',
    },
    signup: {
      heading: 'Crear una cuenta',
      email: 'Correo electrónico',
      terms: 'Acepto las condiciones del servicio',
      submit: /^Crear cuenta$/i,
    },
    checkEmail: {
      heading: 'Revise su correo',
    },
    choosePassword: {
      heading: 'Elija su contraseña',
      password: /^Contraseña$/i,
      again: 'Vuelva a escribir la contraseña',
      submit: /^Crear cuenta$/i,
    },
    emailConfirmed: {
      heading: 'Correo electrónico confirmado',
      continue: 'Continuar para iniciar sesión',
    },
    mfaSetup: {
      heading: 'Agregue una segunda manera de iniciar sesión',
      phone: 'Mensaje de texto o llamada telefónica',
    },
    phoneEnrol: {
      heading: 'Agregue un número de teléfono',
      number: 'Número de teléfono',
      sms: 'Mensaje de texto (SMS)',
      send: 'Enviar código',
      code: 'Código de seguridad',
      confirm: /^Confirmar$/i,
    },
    another: {
      heading: 'Agregue un método de respaldo',
      addApp: 'Agregar una aplicación de autenticación',
      skip: 'Omitir por ahora',
    },
    account: {
      heading: 'Su cuenta',
      addApp: 'Agregar una aplicación de autenticación',
      // The phone's "Cambiar" link, not "Cambiar su contraseña".
      changePhone: /^Cambiar(?!\s+(su|la))/i,
    },
    totp: {
      heading: 'Agregue una aplicación de autenticación',
      code: 'Código de su aplicación',
      confirm: /^Confirmar$/i,
    },
    consent: {
      heading: /^¿Permitir que .+ use su cuenta de .+\?$/i,
      allow: /^Permitir$/i,
    },
    stepUp: {
      heading: 'Confirme su identidad',
      password: /^Contraseña$/i,
      continue: /^Continuar$/i,
    },
    challenge: {
      heading: 'Confirme su identidad',
      appCode: 'Código de su aplicación',
      continue: /^Continuar$/i,
      lostPhone: 'No tengo mi teléfono',
      cooldown: 'no se puede usar por sí solo para restablecer su contraseña',
    },
    phoneChange: {
      numberHeading: /^Cambi/i,
      newNumber: 'Nuevo número de teléfono',
      sms: 'Mensaje de texto (SMS)',
      send: 'Enviar código',
      codeHeading: 'Ingrese el código',
      code: 'Código de seguridad',
      continue: /^Continuar$/i,
      reviewHeading: 'Revise y confirme',
      confirm: /^Confirmar$/i,
      doneHeading: 'Número de teléfono actualizado',
      receiptNote: 'Guarde esta página como comprobante',
    },
    forgot: {
      heading: 'Restablecer su contraseña',
      email: 'Correo electrónico',
      submit: 'Enviar el enlace',
      sent: 'pertenece a una cuenta',
    },
    newPassword: {
      heading: 'Elija una nueva contraseña',
      password: /^Nueva contraseña$/i,
      again: 'Vuelva a escribirla',
      submit: 'Guardar la nueva contraseña',
      doneHeading: 'Contraseña cambiada',
      signIn: /^Iniciar sesión$/i,
    },
    lostPhone: {
      heading: '¿No tiene su teléfono?',
      useApp: 'Usar su aplicación de autenticación',
      reset: 'Restablecer mis métodos de inicio de sesión',
      emailed: 'Enviamos un enlace',
    },
    accountReset: {
      heading: 'Restablecer sus métodos para iniciar sesión',
      confirm: 'Confirmar el restablecimiento de la cuenta',
      waiting: 'El restablecimiento de su cuenta está en espera',
    },
    keys: {
      setupPasskey: 'Llave de acceso (cara, huella digital o bloqueo de pantalla)',
      consoleHeading: 'Llaves de seguridad y llaves de acceso',
      none: 'No ha agregado ninguna.',
      addPasskey: 'Agregar una llave de acceso',
      addHeading: 'Agregar una llave de acceso',
      name: /^Nombre$/i,
      create: 'Crear una llave de acceso',
      kindPasskey: 'Llave de acceso',
      neverUsed: 'Todavía no se ha usado',
      remove: /^Eliminar$/i,
      signInWithPasskey: 'Iniciar sesión con una llave de acceso',
      useKey: 'Usar mi llave de seguridad o llave de acceso',
    },
    home: {
      heading: 'Su cuenta',
      manage: 'Administrar su cuenta',
    },
    verify: {
      consoleLink: 'Verifique su identidad',
      startHeading: 'Verifique su identidad',
      consent: 'Acepto que se compruebe mi información',
      start: 'Aceptar y continuar',
      documentHeading: 'Agregue fotos de su identificación',
      driversLicense: 'Licencia de conducir',
      front: 'Frente de su licencia o identificación',
      back: 'Reverso de su licencia o identificación',
      continue: /^Continuar$/i,
      expired: 'Este documento está vencido',
      selfieHeading: 'Tómese una selfie',
      selfie: 'Su selfie',
      ssnHeading: 'Ingrese su número de Seguro Social',
      ssn: /^Número de Seguro Social$/i,
      reviewHeading: 'Revise su información',
      reviewName: 'Nombre',
      reviewSsn: 'Número de Seguro Social',
      verifyButton: /^Verificar$/i,
      phoneHeading: 'Confirme su teléfono',
      sendCode: 'Enviar código',
      codeHeading: 'Ingrese el código que le enviamos',
      code: 'Código de seguridad',
      finish: /^Terminar$/i,
      doneHeading: 'Su identidad está verificada',
      protectHeading: 'Proteja su información verificada',
      password: /^Contraseña$/,
      protectButton: 'Bloquear mi información',
      personalKeyHeading: 'Guarde su clave personal',
      personalKeySaved: 'Guardé mi clave personal, continuar',
      personalKeyDownload: 'Descargar como archivo de texto',
      unlockHeading: 'Escriba su contraseña para compartir su información verificada',
      unlockButton: /^Continuar$/,
      newPersonalKey: 'Crear una clave personal nueva',
      vault: 'Su información verificada está bloqueada con su contraseña y su clave personal',
      suspended: 'su identidad verificada está bloqueada hasta que escriba su clave personal',
      restoreLink: 'Escribir mi clave personal',
      restoreHeading: 'Recupere su identidad verificada',
      personalKey: /^Clave personal/,
      restoreButton: 'Recuperar mi identidad verificada',
      makeBackupCodes: /^Crear códigos de respaldo( nuevos)?$/,
      backupCodesSaved: 'Ya guardé mis códigos',
      backupCode: /^Código de respaldo$/,
      mfaContinue: /^Continuar$/,
      verifiedOn: 'Verificada el',
      backToAccount: 'Volver a su cuenta',
      removeData: 'Eliminar mis datos verificados',
      phoneOther: /^Otro número$/i,
      phoneNumber: 'Número de teléfono',
      notAssociated: 'No pudimos confirmar que este número de teléfono esté a su nombre',
      letterRequest: 'Envíenme una carta',
      letterHeading: 'Ingrese el código de su carta',
      letterRequested: 'Carta solicitada el',
      letterSent: 'Carta enviada el',
      letterCode: 'Código de la carta',
      letterWrong: 'Ese código no coincide con su carta',
    },
  },
};

/** The catalogue for `lang`, or a clear error while that language has none. */
export function stringsFor(lang) {
  const s = strings[lang];
  if (!s) throw new Error(`tests/e2e/strings.js has no strings for "${lang}" yet`);
  return s;
}

/** Every English string in the catalogue, for assertNoEnglish: a RegExp gives its literal parts. */
export function englishCatalogue() {
  const out = [];
  const walk = (v) => {
    if (typeof v === 'string') out.push(v);
    else if (v instanceof RegExp) {
      const literal = v.source
        .replace(/\(\?[!=][^)]*\)/g, '|') // lookarounds
        .replace(/\.[+*]|\\s[+*]?|[\^$]/g, '|') // wildcards and anchors split the literal parts
        .replace(/\\(.)/g, '$1');
      out.push(...literal.split('|').map((part) => part.trim()).filter(Boolean));
    } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(strings.en);
  return out;
}
